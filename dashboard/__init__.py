"""gridwatch's top floor: the Streamlit dashboard and the command line beside it."""
