from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2

from tfjs_converter.canonical_graph import canonicalize_function_names, canonicalize_graph


def _function(name: str, *nodes: node_def_pb2.NodeDef) -> function_pb2.FunctionDef:
    function = function_pb2.FunctionDef()
    function.signature.name = name
    function.node_def.extend(nodes)
    return function


def _node(name: str, op: str, **functions: str | list[str]) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op=op)
    for attr, called in functions.items():
        if isinstance(called, list):
            for function in called:
                node.attr[attr].list.func.add(name=function)
        else:
            node.attr[attr].func.name = called
    return node


def _graph(offset: int) -> graph_pb2.GraphDef:
    """A graph whose function names carry counters shifted by offset, as after other conversions."""

    def n(name: str, *numbers: int) -> str:
        return name + "".join(f"_{number + offset}" for number in numbers)

    cond_true, cond_false = (
        n("__inference_cond_true_16_frozen", 276),
        n("__inference_cond_false", 17),
    )
    body, condition = n("__inference_while_body", 48, 174), n("__inference_while_cond", 47, 227)
    inner, called_as_op = n("__inference_inner", 9), n("__inference_helper", 5)
    unused_late, unused_early = n("__inference_unused", 90), n("__inference_unused", 80)
    graph = graph_pb2.GraphDef()
    graph.node.extend(
        [
            _node("x", "Placeholder"),
            _node("if", "If", then_branch=cond_true, else_branch=cond_false),
            _node("while", "StatelessWhile", body=body, cond=condition),
            _node("case", "Case", branches=[cond_true, called_as_op]),
        ]
    )
    # Listed in an order of their own, as freezing leaves them.
    graph.library.function.extend(
        [
            _function(unused_late),
            _function(condition, _node("less", "Less")),
            _function(body, _node("call", "StatefulPartitionedCall", f=inner)),
            _function(cond_false),
            _function(inner),
            _function(cond_true),
            _function(unused_early),
            _function(called_as_op),
        ]
    )
    graph.library.function[3].node_def.add(name="helper", op=called_as_op)
    graph.library.gradient.add(function_name=inner, gradient_func=called_as_op)
    return graph


def test_functions_are_named_and_listed_by_first_use_without_counters():
    graph = _graph(0)
    renamed = canonicalize_function_names(graph)

    # If's attributes in name order: else_branch, whose node calls helper as
    # its op, then then_branch; the loop's body, which calls inner, then its
    # cond; last what nothing calls, by their numbers.
    assert [f.signature.name for f in graph.library.function] == [
        "__inference_cond_false_0",
        "__inference_helper_0",
        "__inference_cond_true_0",
        "__inference_while_body_0",
        "__inference_inner_0",
        "__inference_while_cond_0",
        "__inference_unused_0",
        "__inference_unused_1",
    ]
    assert renamed["__inference_unused_80"] == "__inference_unused_0"
    assert renamed["__inference_unused_90"] == "__inference_unused_1"
    nodes = {node.name: node for node in graph.node}
    assert nodes["if"].attr["then_branch"].func.name == "__inference_cond_true_0"
    assert nodes["if"].attr["else_branch"].func.name == "__inference_cond_false_0"
    assert nodes["while"].attr["body"].func.name == "__inference_while_body_0"
    assert [f.name for f in nodes["case"].attr["branches"].list.func] == [
        "__inference_cond_true_0",
        "__inference_helper_0",
    ]
    (call,) = graph.library.function[3].node_def
    assert call.attr["f"].func.name == "__inference_inner_0"
    (helper_call,) = graph.library.function[0].node_def
    assert helper_call.op == "__inference_helper_0"
    (gradient,) = graph.library.gradient
    assert (gradient.function_name, gradient.gradient_func) == (
        "__inference_inner_0",
        "__inference_helper_0",
    )


def test_the_same_graph_after_other_conversions_gets_the_same_bytes():
    first, later = _graph(0), _graph(1000)
    assert first.SerializeToString() != later.SerializeToString()
    canonicalize_function_names(first)
    canonicalize_function_names(later)
    assert first.SerializeToString(deterministic=True) == later.SerializeToString(
        deterministic=True
    )


def test_a_graph_without_functions_is_left_as_it_is():
    graph = graph_pb2.GraphDef()
    graph.node.extend([_node("x", "Placeholder"), _node("y", "Identity")])
    before = graph.SerializeToString()
    assert canonicalize_function_names(graph) == {}
    assert graph.SerializeToString() == before


def test_history_dependent_attributes_are_dropped_everywhere():
    graph = _graph(0)
    for node in [graph.node[0], graph.library.function[1].node_def[0]]:
        node.attr["_has_manual_control_dependencies"].b = True
        node.attr["T"].type = 1
    canonicalize_graph(graph)
    for node in [graph.node[0], *graph.library.function[5].node_def]:
        assert list(node.attr) == ["T"]
