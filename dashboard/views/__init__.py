"""The dashboard's pages, each run by st.navigation from dashboard/app.py."""
