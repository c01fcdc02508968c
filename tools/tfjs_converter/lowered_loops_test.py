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
