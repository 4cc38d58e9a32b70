"""The state graph of an Amazon States Language definition, laid out top to bottom and drawn as SVG.

The graph has a Start and an End node and one node per top-level state; its edges are the states'
Next, Default, Choices[].Next and Catch[].Next, and an edge to End from every terminal state, as the
Step Functions console draws them. The layout is a small layered (Sugiyama-style) one:

1. edges that close a cycle (found by a depth-first walk from Start) are set aside and drawn on the left;
2. every node gets the layer of its longest path from Start;
3. an edge that spans several layers runs through one virtual point per layer it crosses, shared by
   all edges into the same target, so the many Catch edges into one compensation state form one line;
4. the order within each layer comes from barycentre sweeps (keeping the order with fewest crossings),
   and x positions from a few relaxation passes in which the main path weighs most.

Everything taken from the definition (names, comments, error names) is escaped in the SVG.
"""

from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

START = "start"
END = "end"
MAIN_KINDS = ("next", "default", "choice")

NODE_HEIGHT = 44
PILL_HEIGHT = 28
LAYER_GAP = 46
NODE_GAP = 30
DUMMY_WIDTH = 2
MARGIN = 24
CHAR_WIDTH = 7.4  # of the 13px label font, generously


def state_key(name: str) -> str:
    return f"state:{name}"


@dataclass
class Node:
    key: str
    name: str
    type: str
    comment: str = ""
    status: str = "not-run"


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # next | default | choice | catch | end
    label: str = ""
    taken: bool = False


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]

    def to_json(self) -> dict:
        return {
            "nodes": [{"key": n.key, "name": n.name, "type": n.type, "status": n.status} for n in self.nodes.values()],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind, "label": e.label, "taken": e.taken} for e in self.edges],
        }


def _choice_label(rule: dict, index: int) -> str:
    """A short text for a simple JSONPath choice rule ($.x == "y"), else "rule N"."""
    operators = {
        "StringEquals": "==",
        "NumericEquals": "==",
        "BooleanEquals": "==",
        "StringMatches": "matches",
        "NumericGreaterThan": ">",
        "NumericLessThan": "<",
        "NumericGreaterThanEquals": ">=",
        "NumericLessThanEquals": "<=",
        "IsPresent": "present",
        "IsNull": "is null",
    }
    variable = rule.get("Variable")
    for operator, symbol in operators.items():
        if variable and operator in rule:
            value = rule[operator]
            text = f"{variable} {symbol} {value!r}" if not isinstance(value, bool) else f"{variable} {symbol} {str(value).lower()}"
            return text if len(text) <= 40 else text[:39] + "…"
    if "Condition" in rule:
        condition = str(rule["Condition"])
        return condition if len(condition) <= 40 else condition[:39] + "…"
    return f"rule {index + 1}"


def state_graph(definition: dict) -> Graph:
    """The graph of a definition's top-level states (Parallel and Map are one node each)."""
    states: dict = definition.get("States", {})
    nodes = {START: Node(START, "Start", "Start")}
    for name, state in states.items():
        nodes[state_key(name)] = Node(state_key(name), name, str(state.get("Type", "?")), str(state.get("Comment", "")))
    nodes[END] = Node(END, "End", "End")
    edges: list[Edge] = []

    def add(source: str, target_name, kind: str, label: str = "") -> None:
        if isinstance(target_name, str) and target_name in states:
            edges.append(Edge(source, state_key(target_name), kind, label))

    if definition.get("StartAt") in states:
        edges.append(Edge(START, state_key(definition["StartAt"]), "next"))
    for name, state in states.items():
        key = state_key(name)
        kind = state.get("Type")
        if kind == "Choice":
            for index, rule in enumerate(state.get("Choices", [])):
                add(key, rule.get("Next"), "choice", _choice_label(rule, index))
            add(key, state.get("Default"), "default", "default")
        add(key, state.get("Next"), "next")
        for catcher in state.get("Catch", []):
            errors = catcher.get("ErrorEquals", [])
            add(key, catcher.get("Next"), "catch", ", ".join(map(str, errors)))
        if state.get("End") or kind in ("Succeed", "Fail"):
            edges.append(Edge(key, END, "end"))
    return Graph(nodes, edges)


# ---------------------------------------------------------------------------------------------- layout


@dataclass
class Placed:
    key: str
    layer: int
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0
    dummy: bool = False


@dataclass
class Route:
    edge: Edge
    points: list[tuple[float, float]]
    back: bool = False


@dataclass
class Layout:
    placed: dict[str, Placed]
    routes: list[Route]
    width: float
    height: float
    layers: list[list[str]] = field(default_factory=list)


def _node_width(node: Node) -> float:
    if node.key in (START, END):
        return 64
    return max(132.0, len(node.name) * CHAR_WIDTH + 36, len(node.type) * 6.2 + 36)


def _back_edges(graph: Graph) -> set[int]:
    """Indexes of the edges that close a cycle in a depth-first walk from Start (then from any node left)."""
    out: dict[str, list[int]] = {key: [] for key in graph.nodes}
    for index, edge in enumerate(graph.edges):
        out[edge.source].append(index)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[int] = set()
    for root in graph.nodes:
        if root in state:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            key, children = stack[-1]
            edge_index = next(children, None)
            if edge_index is None:
                state[key] = 2
                stack.pop()
                continue
            target = graph.edges[edge_index].target
            if state.get(target) == 1:
                back.add(edge_index)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(out[target])))
    return back


def _crossings(layers: list[list[str]], links: list[tuple[str, str]]) -> int:
    position = {key: i for layer in layers for i, key in enumerate(layer)}
    layer_of = {key: n for n, layer in enumerate(layers) for key in layer}
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        by_layer.setdefault(layer_of[a], []).append((position[a], position[b]))
    count = 0
    for pairs in by_layer.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count


def layout(graph: Graph) -> Layout:
    back = _back_edges(graph)
    forward = [(i, e) for i, e in enumerate(graph.edges) if i not in back and e.source != e.target]

    # Longest-path layers over the forward edges, in a topological order.
    preds: dict[str, list[str]] = {key: [] for key in graph.nodes}
    succs: dict[str, list[str]] = {key: [] for key in graph.nodes}
    for _, edge in forward:
        preds[edge.target].append(edge.source)
        succs[edge.source].append(edge.target)
    indegree = {key: len(p) for key, p in preds.items()}
    ready = [key for key in graph.nodes if indegree[key] == 0]
    order: list[str] = []
    while ready:
        key = ready.pop(0)
        order.append(key)
        for target in succs[key]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    layer_of: dict[str, int] = {}
    for key in order:
        layer_of[key] = max((layer_of[p] + 1 for p in preds[key]), default=0)

    placed = {
        key: Placed(key, layer_of[key], _node_width(node), PILL_HEIGHT if key in (START, END) else NODE_HEIGHT)
        for key, node in graph.nodes.items()
    }
    # Long forward edges run through virtual points shared by every edge into the same target.
    chains: dict[int, list[str]] = {}
    links: list[tuple[str, str, float]] = []  # (upper, lower, weight) between adjacent layers
    for index, edge in forward:
        top, bottom = layer_of[edge.source], layer_of[edge.target]
        chain = [edge.source]
        for level in range(top + 1, bottom):
            dummy = f"dummy:{edge.target}:{level}"
            if dummy not in placed:
                placed[dummy] = Placed(dummy, level, DUMMY_WIDTH, 0, dummy=True)
            chain.append(dummy)
        chain.append(edge.target)
        chains[index] = chain
        # The main path weighs most, so it stays straight; a bus of virtual points stays straight too.
        weight = 8.0 if edge.kind in MAIN_KINDS else 1.0
        for upper, lower in zip(chain, chain[1:], strict=False):
            both_virtual = upper.startswith("dummy:") and lower.startswith("dummy:")
            links.append((upper, lower, 4.0 if both_virtual else weight))
    unique_links = list(dict.fromkeys((a, b) for a, b, _ in links))

    # Initial order: discovery order of a walk from Start; virtual points near their first user.
    rank: dict[str, int] = {}
    for key in order:
        rank.setdefault(key, len(rank))
    for key in placed:
        rank.setdefault(key, len(rank))
    layers: list[list[str]] = [[] for _ in range(max(p.layer for p in placed.values()) + 1)]
    for key in sorted(placed, key=lambda k: rank[k]):
        layers[placed[key].layer].append(key)

    up: dict[str, list[str]] = {key: [] for key in placed}
    down: dict[str, list[str]] = {key: [] for key in placed}
    for a, b in unique_links:
        down[a].append(b)
        up[b].append(a)

    def sweep(current: list[list[str]], downward: bool) -> list[list[str]]:
        result = [list(layer) for layer in current]
        indexes = range(1, len(result)) if downward else range(len(result) - 2, -1, -1)
        for n in indexes:
            neighbour_layer = result[n - 1] if downward else result[n + 1]
            position = {key: i for i, key in enumerate(neighbour_layer)}
            old = {key: i for i, key in enumerate(result[n])}

            def centre(key: str, position=position, old=old) -> float:
                around = [position[k] for k in (up[key] if downward else down[key]) if k in position]
                return sum(around) / len(around) if around else old[key]

            result[n].sort(key=lambda k: (centre(k), old[k]))
        return result

    best, best_crossings = layers, _crossings(layers, unique_links)
    current = layers
    for iteration in range(8):
        current = sweep(current, downward=iteration % 2 == 0)
        crossings = _crossings(current, unique_links)
        if crossings < best_crossings:
            best, best_crossings = current, crossings
    layers = best

    # x: pack each layer, then relax towards the weighted mean of the neighbours.
    weights: dict[tuple[str, str], float] = {}
    for a, b, w in links:
        weights[(a, b)] = max(weights.get((a, b), 0.0), w)
    neighbours: dict[str, list[tuple[str, float]]] = {key: [] for key in placed}
    for (a, b), w in weights.items():
        neighbours[a].append((b, w))
        neighbours[b].append((a, w))

    def separation(left: Placed, right: Placed) -> float:
        gap = NODE_GAP if not (left.dummy and right.dummy) else 14
        if left.dummy != right.dummy:
            gap = 20
        return (left.width + right.width) / 2 + gap

    # The spine: from Start along the first forward main edge of each state, with its virtual points.
    # It stays on one vertical line; everything else is placed around it.
    spine: set[str] = {START}
    key = START
    while True:
        step = next(
            (i for i, e in forward if e.source == key and e.kind in MAIN_KINDS and e.target not in spine),
            None,
        )
        if step is None:
            step = next((i for i, e in forward if e.source == key and e.kind == "end"), None)
        if step is None:
            break
        spine.update(chains[step][1:])
        key = graph.edges[step].target
        if key == END:
            break

    def place(layer: list[str], desired: dict[str, float]) -> None:
        anchor = next((i for i, key in enumerate(layer) if key in spine), None)
        xs = [desired[key] for key in layer]
        if anchor is None:
            for i in range(1, len(layer)):
                xs[i] = max(xs[i], xs[i - 1] + separation(placed[layer[i - 1]], placed[layer[i]]))
            # Shift back towards the desired positions; real nodes pull harder than virtual points.
            total = sum((0.25 if placed[key].dummy else 1.0) for key in layer)
            shift = sum((desired[key] - x) * (0.25 if placed[key].dummy else 1.0) for key, x in zip(layer, xs, strict=False)) / total
            xs = [x + shift for x in xs]
        else:
            xs[anchor] = 0.0
            for i in range(anchor + 1, len(layer)):
                xs[i] = max(xs[i], xs[i - 1] + separation(placed[layer[i - 1]], placed[layer[i]]))
            for i in range(anchor - 1, -1, -1):
                xs[i] = min(xs[i], xs[i + 1] - separation(placed[layer[i]], placed[layer[i + 1]]))
        for key, x in zip(layer, xs, strict=False):
            placed[key].x = x

    for layer in layers:
        place(layer, {key: float(i) * 10 for i, key in enumerate(layer)})
    for iteration in range(24):
        sequence = layers if iteration % 2 == 0 else list(reversed(layers))
        for layer in sequence:
            desired = {}
            for key in layer:
                around = neighbours[key]
                if around:
                    total = sum(w for _, w in around)
                    desired[key] = sum(placed[k].x * w for k, w in around) / total
                else:
                    desired[key] = placed[key].x
            place(layer, desired)

    # y: one row per layer, each as tall as its tallest node.
    y = float(MARGIN)
    for layer in layers:
        height = max((placed[key].height for key in layer), default=0.0) or PILL_HEIGHT
        for key in layer:
            placed[key].y = y + height / 2
        y += height + LAYER_GAP
    height = y - LAYER_GAP + MARGIN

    # Routes; back edges run down the left of everything.
    routes: list[Route] = []
    for index, edge in forward:
        routes.append(Route(edge, [(placed[k].x, placed[k].y) for k in chains[index]]))
    left = min(p.x - p.width / 2 for p in placed.values())
    for lane, index in enumerate(sorted(back)):
        edge = graph.edges[index]
        routes.append(
            Route(
                edge,
                [
                    (placed[edge.source].x, placed[edge.source].y),
                    (left - 24 - 14 * lane, 0.0),
                    (placed[edge.target].x, placed[edge.target].y),
                ],
                back=True,
            )
        )
    for edge in graph.edges:
        if edge.source == edge.target:
            routes.append(Route(edge, [(placed[edge.source].x, placed[edge.source].y)], back=True))
    lane_left = left - 24 - 14 * max(len(back) - 1, 0) if back else left
    min_x = min(lane_left, left) - MARGIN
    right = max(p.x + p.width / 2 for p in placed.values()) + MARGIN + (40 if any(e.source == e.target for e in graph.edges) else 0)
    for p in placed.values():
        p.x -= min_x
    for route in routes:
        route.points = [(x - min_x, y) for x, y in route.points]
    return Layout(placed, routes, right - min_x, height, layers)


# ---------------------------------------------------------------------------------------------- SVG


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _curve(points: list[tuple[float, float]]) -> str:
    """A path through the points with vertical tangents at each, as layered diagrams draw edges."""
    (x0, y0), *rest = points
    d = f"M{_fmt(x0)},{_fmt(y0)}"
    for x1, y1 in rest:
        dy = (y1 - y0) / 2
        d += f" C{_fmt(x0)},{_fmt(y0 + dy)} {_fmt(x1)},{_fmt(y1 - dy)} {_fmt(x1)},{_fmt(y1)}"
        x0, y0 = x1, y1
    return d


def _ports(layout: Layout) -> tuple[dict[int, float], dict[int, float]]:
    """x of each forward route's start on its source's bottom and end on its target's top, spread so
    that edges leave and arrive side by side (edges through one virtual point share a port)."""
    out_port: dict[int, float] = {}
    in_port: dict[int, float] = {}
    by_source: dict[str, list[int]] = {}
    by_target: dict[str, list[int]] = {}
    for i, route in enumerate(layout.routes):
        if route.back:
            continue
        by_source.setdefault(route.edge.source, []).append(i)
        by_target.setdefault(route.edge.target, []).append(i)

    def spread(node: Placed, indexes: list[int], neighbour_x, ports: dict[int, float]) -> None:
        xs = sorted({neighbour_x(i) for i in indexes})
        if len(xs) == 1:
            for i in indexes:
                ports[i] = node.x
            return
        step = min(node.width * 0.8 / (len(xs) - 1), 26.0)
        slots = [node.x + (n - (len(xs) - 1) / 2) * step for n in range(len(xs))]
        # The edge that runs straight up or down (the main path) keeps the node's centre.
        nearest = min(range(len(xs)), key=lambda n: abs(xs[n] - node.x))
        if abs(xs[nearest] - node.x) < 1:
            slots = [x + node.x - slots[nearest] for x in slots]
        low, high = node.x - node.width / 2 + 8, node.x + node.width / 2 - 8
        for i in indexes:
            ports[i] = min(max(slots[xs.index(neighbour_x(i))], low), high)

    for key, indexes in by_source.items():
        spread(layout.placed[key], indexes, lambda i: layout.routes[i].points[1][0], out_port)
    for key, indexes in by_target.items():
        spread(layout.placed[key], indexes, lambda i: layout.routes[i].points[-2][0], in_port)
    return out_port, in_port


def render_svg(graph: Graph, title: str = "State graph") -> str:
    """The graph as an inline SVG element; node and edge classes carry the statuses for the CSS."""
    placed = layout(graph)
    out_port, in_port = _ports(placed)
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{_fmt(placed.width)}" height="{_fmt(placed.height)}" '
        f'viewBox="0 0 {_fmt(placed.width)} {_fmt(placed.height)}" role="img" aria-label="{escape(title)}">',
        "<defs>",
        *(
            f'<marker id="arrow-{name}" class="arrow arrow--{name}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
            for name in ("plain", "taken")
        ),
        "</defs>",
        '<g class="edges">',
    ]
    # Untaken edges first, so that the path taken is drawn over them.
    ordered = sorted(enumerate(placed.routes), key=lambda item: item[1].edge.taken)
    for i, route in ordered:
        edge = route.edge
        source, target = placed.placed[edge.source], placed.placed[edge.target]
        classes = f"edge edge--{edge.kind}" + (" edge--taken" if edge.taken else "") + (" edge--back" if route.back else "")
        marker = "taken" if edge.taken else "plain"
        tooltip = f"{graph.nodes[edge.source].name} → {graph.nodes[edge.target].name}" + (f" ({edge.label})" if edge.label else "")
        if route.back and edge.source == edge.target:
            x, y = source.x + source.width / 2, source.y
            d = f"M{_fmt(x)},{_fmt(y - 8)} C{_fmt(x + 34)},{_fmt(y - 26)} {_fmt(x + 34)},{_fmt(y + 26)} {_fmt(x)},{_fmt(y + 8)}"
        elif route.back:
            lane = route.points[1][0]
            sx, sy = source.x - source.width / 2, source.y
            tx, ty = target.x - target.width / 2, target.y
            d = (
                f"M{_fmt(sx)},{_fmt(sy)} C{_fmt(lane)},{_fmt(sy)} {_fmt(lane)},{_fmt(sy)} {_fmt(lane)},{_fmt(sy - 20)} "
                f"L{_fmt(lane)},{_fmt(ty + 20)} C{_fmt(lane)},{_fmt(ty)} {_fmt(lane)},{_fmt(ty)} {_fmt(tx)},{_fmt(ty)}"
            )
        else:
            points = list(route.points)
            points[0] = (out_port[i], source.y + source.height / 2)
            points[-1] = (in_port[i], target.y - target.height / 2)
            d = _curve(points)
        parts.append(
            f'<path class="{classes}" d="{d}" marker-end="url(#arrow-{marker})" '
            f'data-source="{escape(graph.nodes[edge.source].name)}" data-target="{escape(graph.nodes[edge.target].name)}">'
            f"<title>{escape(tooltip)}</title></path>"
        )
        if edge.label and not route.back and edge.kind in ("choice", "default", "catch") and edge.label != "States.ALL":
            # The label sits where the edge reaches the next layer, so that a Choice's labels part.
            x1, y1 = route.points[1]
            if len(route.points) == 2:
                x1, y1 = in_port[i], target.y - target.height / 2
            parts.append(
                f'<text class="edge-label edge-label--{edge.kind}" x="{_fmt(x1 + 5)}" y="{_fmt(y1 - 7)}">{escape(edge.label)}</text>'
            )
    parts.append('</g><g class="nodes">')
    for key, node in graph.nodes.items():
        box = placed.placed[key]
        label = f"{node.name} · {node.type} · {node.status}" + (f"\n{node.comment}" if node.comment else "")
        if key in (START, END):
            parts.append(
                f'<g class="state state--pseudo state--{escape(node.status)}" data-state="{escape(node.name)}" data-status="{escape(node.status)}">'
                f"<title>{escape(node.name)}</title>"
                f'<rect x="{_fmt(box.x - box.width / 2)}" y="{_fmt(box.y - box.height / 2)}" width="{_fmt(box.width)}" height="{_fmt(box.height)}" rx="{_fmt(box.height / 2)}"/>'
                f'<text class="state-name" x="{_fmt(box.x)}" y="{_fmt(box.y + 4.5)}">{escape(node.name)}</text></g>'
            )
            continue
        parts.append(
            f'<a href="#state-{escape(quote(node.name, safe=""))}" class="state-link">'
            f'<g class="state state--{escape(node.status)} state-type--{escape(node.type.lower())}" data-state="{escape(node.name)}" data-status="{escape(node.status)}">'
            f"<title>{escape(label)}</title>"
            f'<rect x="{_fmt(box.x - box.width / 2)}" y="{_fmt(box.y - box.height / 2)}" width="{_fmt(box.width)}" height="{_fmt(box.height)}" rx="6"/>'
            f'<text class="state-name" x="{_fmt(box.x)}" y="{_fmt(box.y - 1)}">{escape(node.name)}</text>'
            f'<text class="state-type" x="{_fmt(box.x)}" y="{_fmt(box.y + 13)}">{escape(node.type)}</text>'
            f"</g></a>"
        )
    parts.append("</g></svg>")
    return "".join(parts)
