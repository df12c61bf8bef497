"""Which grid cells touch which: the contiguity graph zones are built on, with each cell's area,
perimeter and the length of boundary it shares with each neighbour (metres)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geodata import local_metric_crs

__all__ = ["CellGraph", "cell_graph"]


@dataclass(frozen=True)
class CellGraph:
    """Grid cells as a graph: cells touching along a boundary (rook contiguity) are neighbours.

    Arrays are in the order of ``ids``; lengths and areas are in metres of ``crs``. Cells that
    touch no other cell (an island, an exclave) are linked to their nearest cell by a ``bridge``
    of zero shared length, so that every zone can still be made of connected cells.
    """

    ids: pd.Index
    area: np.ndarray
    perimeter: np.ndarray
    centroid: np.ndarray  # (n, 2)
    edges: np.ndarray  # (m, 2) cell positions, first < second
    shared: np.ndarray  # (m,) shared boundary length; 0 for bridges
    crs: pyproj.CRS
    bridges: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.ids)

    def neighbours(self) -> list[list[tuple[int, float]]]:
        """Each cell's neighbours as ``(position, shared length)`` pairs."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(self.n)]
        for (a, b), length in zip(self.edges.tolist(), self.shared.tolist(), strict=True):
            out[a].append((b, length))
            out[b].append((a, length))
        return out

    def matrix(self) -> sparse.csr_matrix:
        """Symmetric adjacency matrix (1 for neighbours)."""
        a, b = self.edges[:, 0], self.edges[:, 1]
        data = np.ones(2 * len(a))
        return sparse.csr_matrix((data, (np.r_[a, b], np.r_[b, a])), shape=(self.n, self.n))

    def to_networkx(self) -> nx.Graph:
        """The graph with cell ids as nodes and ``shared`` (metres) on each edge."""
        graph = nx.Graph()
        graph.add_nodes_from(self.ids)
        ids = self.ids.to_numpy()
        graph.add_weighted_edges_from(
            zip(ids[self.edges[:, 0]], ids[self.edges[:, 1]], self.shared.tolist(), strict=True),
            weight="shared",
        )
        return graph

    def subgraph(self, cells: np.ndarray) -> CellGraph:
        """The graph of the cells at the given positions (edges to other cells dropped, so
        boundaries with them count as outer boundary)."""
        cells = np.asarray(cells, dtype=np.int64)
        new = np.full(self.n, -1)
        new[cells] = np.arange(len(cells))
        a, b = new[self.edges[:, 0]], new[self.edges[:, 1]]
        keep = (a >= 0) & (b >= 0)
        return CellGraph(
            ids=self.ids[cells],
            area=self.area[cells],
            perimeter=self.perimeter[cells],
            centroid=self.centroid[cells],
            edges=np.column_stack([a[keep], b[keep]]),
            shared=self.shared[keep],
            crs=self.crs,
        )

    def positions(self, cell_ids: pd.Index | pd.Series | list[str]) -> np.ndarray:
        """Positions of the given cell ids; ``ValueError`` naming the first unknown id."""
        pos = self.ids.get_indexer(pd.Index(cell_ids))
        if (pos < 0).any():
            missing = pd.Index(cell_ids)[pos < 0][0]
            raise ValueError(
                f"grid cell {missing!r} is not among the grid cells; "
                "check the ids against the grid_cells layer"
            )
        return pos


def cell_graph(
    cells: gpd.GeoDataFrame,
    *,
    id_column: str = "grid_id",
    snap_m: float = 10.0,
    min_shared_m: float = 10.0,
) -> CellGraph:
    """
    Build the contiguity graph of grid cells.

    Two cells are neighbours when they share at least ``min_shared_m`` of boundary; cells that
    only meet at a corner are not. Boundaries a little apart (gaps and slivers up to ``snap_m``
    wide, common in hand-drawn grids) still count as shared.

    Parameters
    ----------
    cells
        Polygons with a unique id column, in any CRS (measured in a local metric CRS).
    id_column
        Column holding each cell's id.
    snap_m
        Largest gap between two cells' boundaries still taken as a shared boundary.
    min_shared_m
        Shortest shared boundary that makes two cells neighbours.

    Returns
    -------
    CellGraph

    Raises
    ------
    ValueError
        If the id column is missing or holds duplicates, or a cell has no polygon.
    """
    if id_column not in cells.columns:
        raise ValueError(
            f"the grid cells have no column {id_column!r}; name the cell id column with id_column"
        )
    ids = pd.Index(cells[id_column].astype("string"), name=id_column)
    if ids.has_duplicates:
        raise ValueError(
            f"grid cell id {ids[ids.duplicated()][0]!r} appears twice in "
            f"{id_column!r}; cell ids must be unique"
        )
    if ids.hasnans:
        raise ValueError(f"some grid cells have no {id_column!r}; give every cell an id")
    if cells.crs is None:
        raise ValueError("the grid cells have no coordinate system; set one (EPSG:4326)")
    geoms = np.asarray(cells.geometry.array)
    if shapely.is_empty(geoms).any() or pd.isna(geoms).any() or (shapely.area(geoms) <= 0).any():
        raise ValueError("some grid cells have no polygon; drop or repair them first")
    crs = local_metric_crs(cells)
    metric = np.asarray(cells.geometry.to_crs(crs).array)
    area = shapely.area(metric)
    perimeter = shapely.length(metric)
    centroid = shapely.get_coordinates(shapely.point_on_surface(metric))
    # point_on_surface stays inside concave cells; the true centroid is better where it is inside
    true_centroid = shapely.centroid(metric)
    inside = shapely.contains(metric, true_centroid)
    centroid[inside] = shapely.get_coordinates(true_centroid[inside])

    tree = shapely.STRtree(metric)
    a, b = tree.query(metric, predicate="dwithin", distance=snap_m)
    keep = a < b
    a, b = a[keep], b[keep]
    boundary = shapely.boundary(metric)
    shared = shapely.length(shapely.intersection(boundary[a], boundary[b]))
    # Cells a little apart: the part of one boundary within snap_m of the other cell, less the
    # bit a mere corner contact adds.
    loose = shared < min_shared_m
    if loose.any():
        near = shapely.intersection(boundary[a[loose]], shapely.buffer(metric[b[loose]], snap_m))
        shared[loose] = np.maximum(shapely.length(near) - 2 * snap_m, 0.0)
    rook = shared >= min_shared_m
    edges = np.column_stack([a[rook], b[rook]]).astype(np.int64)
    shared = shared[rook]
    edges, shared, bridges = _link_islands(metric, edges, shared)
    graph = CellGraph(
        ids=ids,
        area=area,
        perimeter=perimeter,
        centroid=centroid,
        edges=edges,
        shared=shared,
        crs=crs,
        bridges=[(str(ids[x]), str(ids[y])) for x, y in bridges],
    )
    return graph


def _link_islands(
    metric: np.ndarray, edges: np.ndarray, shared: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Link each group of cells cut off from the rest to its nearest cell outside the group."""
    n = len(metric)
    bridges: list[tuple[int, int]] = []
    while True:
        graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        count, label = connected_components(graph, directed=False)
        if count <= 1:
            break
        sizes = np.bincount(label)
        small = int(np.argmin(sizes))
        inside = np.flatnonzero(label == small)
        outside = np.flatnonzero(label != small)
        tree = shapely.STRtree(metric[outside])
        (src, dst), dist = tree.query_nearest(metric[inside], return_distance=True)
        best = int(np.argmin(dist))
        x, y = int(inside[src[best]]), int(outside[dst[best]])
        bridges.append((min(x, y), max(x, y)))
        edges = np.vstack([edges, [[min(x, y), max(x, y)]]])
        shared = np.append(shared, 0.0)
    return edges, shared, bridges
