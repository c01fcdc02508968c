"""Public API of rules_tfjs: rules that turn TensorFlow SavedModels into TensorFlow.js graph models."""

load("//rules_tfjs/private:providers.bzl", _SavedModelInfo = "SavedModelInfo", _TfjsModelInfo = "TfjsModelInfo")
load("//rules_tfjs/private:saved_model.bzl", _saved_model = "saved_model")
load("//rules_tfjs/private:tfjs_model.bzl", _tfjs_model = "tfjs_model")
load("//rules_tfjs/private:tfjs_model_server.bzl", _tfjs_model_server = "tfjs_model_server")
load("//rules_tfjs/private:tfjs_model_test.bzl", _tfjs_model_test = "tfjs_model_test")
load("//rules_tfjs/private:toolchain.bzl", _TfjsPythonInfo = "TfjsPythonInfo", _tfjs_python_toolchain = "tfjs_python_toolchain")

saved_model = _saved_model
tfjs_model = _tfjs_model
tfjs_model_server = _tfjs_model_server
tfjs_model_test = _tfjs_model_test
tfjs_python_toolchain = _tfjs_python_toolchain

SavedModelInfo = _SavedModelInfo
TfjsModelInfo = _TfjsModelInfo
TfjsPythonInfo = _TfjsPythonInfo
