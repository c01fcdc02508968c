"""Providers of rules_tfjs."""

SavedModelInfo = provider(
    doc = "A TensorFlow SavedModel directory.",
    fields = {
        "root": "str: execroot-relative path of the directory holding " +
                "saved_model.pb.",
        "files": "depset of File: every file of the SavedModel.",
    },
)

TfjsModelInfo = provider(
    doc = "TensorFlow.js graph models converted from one SavedModel, one per signature.",
    fields = {
        "signatures": "dict of str to File: signature key to the directory " +
                      "holding its model.json and weight shards.",
        "saved_model": "SavedModelInfo: the SavedModel they were converted from.",
        "saved_model_tags": "list of str: the tag set of the converted MetaGraph.",
        "options": "struct: the conversion options used (quantization, " +
                   "quantization_patterns, weight_shard_size_bytes, " +
                   "strip_debug_ops, skip_op_check, control_flow_v2, fft_as_matmul, " +
                   "metadata as a dict of key to File).",
        "signature_options": "dict of str to list of str: signature key to its " +
                             "own KEY=VALUE conversion options (max_bytes excluded).",
        "report_json": "File: report.json, what each signature holds and which " +
                       "TF.js backends lack kernels for its ops.",
        "report_markdown": "File: report.md, the same report for reading.",
    },
)

def requested_signatures(model, requested):
    """The signatures a rule asked of a model: all of them if it named none.

    Args:
      model: a target with TfjsModelInfo.
      requested: list of str, the rule's `signatures` attribute.

    Returns:
      list of str. Fails, listing the model's signatures, on one it lacks.
    """
    available = list(model[TfjsModelInfo].signatures)
    for signature in requested:
        if signature not in available:
            fail("signatures has '{}', which {} does not convert; it has {}.".format(
                signature,
                model.label,
                ", ".join(available),
            ))
    return requested or available
