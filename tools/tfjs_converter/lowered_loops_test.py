import json

import tensorflow as tf

from tfjs_converter.convert import convert_saved_model
from tfjs_converter.options import ConversionOptions


class Decoder(tf.Module):
    def __init__(self):
        super().__init__()
        self.embedding = tf.Variable(tf.random.stateless_normal([10, 3], seed=[5, 6]))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
    def decode(self, ids):
        token, total = ids, tf.zeros([tf.shape(ids)[0], 3])
        for _ in tf.range(4):
            vector = tf.gather(self.embedding, token)
            total += vector
            token = tf.argmax(vector, -1, output_type=tf.int32)
        return {"total": total}


def test_a_lowered_loop_reads_its_constants_and_waits_on_values_of_its_body(tmp_path):
    module = Decoder()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"decode": module.decode})
    options = ConversionOptions(control_flow_v2=False)
    outputs = convert_saved_model(tmp_path / "model", ["decode"], tmp_path / "out", options=options)

    nodes = {
        node["name"]: node
        for node in json.loads((outputs["decode"] / "model.json").read_text())["modelTopology"][
            "node"
        ]
    }
    assert any(node["op"] == "LoopCond" for node in nodes.values())  # lowered
    # TF.js gives a constant Enter's value to the first iteration only.
    constant_enters = [
        node
        for node in nodes.values()
        if node["op"] == "Enter" and node["attr"].get("is_constant", {}).get("b")
    ]
    assert constant_enters == []
    # TF.js reads a control input on a Switch from its exit side.
    for node in nodes.values():
        for name in node.get("input", []):
            if name.startswith("^"):
                assert nodes[name[1:]]["op"] != "Switch", (node["name"], name)
    taken = [node for node in nodes.values() if node["name"].endswith("/taken")]
    assert taken and all(node["input"][0].endswith(":1") for node in taken)


class Arrays(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def rows(self, x):
        outer = tf.TensorArray(tf.float32, size=3)
        for i in tf.range(3):
            inner = tf.TensorArray(tf.float32, size=2)
            for j in tf.range(2):
                inner = inner.write(j, x * tf.cast(i + 1, tf.float32) + tf.cast(j, tf.float32))
            outer = outer.write(i, inner.stack())
        return {"rows": outer.stack()}


def test_a_node_fed_only_by_constants_in_a_loop_waits_for_each_iteration(tmp_path):
    # The inner array's TensorListReserve was ready once, from the weights:
    # every outer iteration wrote into one array.
    module = Arrays()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"rows": module.rows})
    options = ConversionOptions(control_flow_v2=False)
    outputs = convert_saved_model(tmp_path / "model", ["rows"], tmp_path / "out", options=options)

    topology = json.loads((outputs["rows"] / "model.json").read_text())["modelTopology"]
    nodes = {node["name"]: node for node in topology["node"]}
    in_loop = [
        node
        for node in nodes.values()
        if node["op"] == "TensorListReserve" and "/body/" in node["name"]
    ]
    assert in_loop
    for node in in_loop:
        data = [i for i in node["input"] if not i.startswith("^")]
        assert all(nodes[i]["op"] == "Const" for i in data)
        controls = [i for i in node["input"] if i.startswith("^")]
        assert controls == [i for i in nodes[data[0]]["input"] if i.startswith("^")] != []
