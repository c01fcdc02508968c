"""The `tfjs` module extension: rules_tfjs's Python environment under Bzlmod.

```starlark
# MODULE.bazel
bazel_dep(name = "rules_tfjs", version = "...")

# Only to change the environment; rules_tfjs registers it as its toolchain.
tfjs = use_extension("@rules_tfjs//rules_tfjs:extensions.bzl", "tfjs")
tfjs.python_environment(requirements_lock = "//:requirements_lock.txt")
```

The extension creates the repositories `rules_tfjs_python`,
`rules_tfjs_python_toolchains` and `rules_tfjs_node` with the same repository
rules as `rules_tfjs_dependencies()` in WORKSPACE, and rules_tfjs's
MODULE.bazel registers the toolchain (in `rules_tfjs_python_toolchains`, so
that unrelated builds fetch neither the environment nor the npm packages). The root module's
`python_environment` tag, if it has one, sets its attributes; tags of other
modules are ignored, and without a tag the defaults (rules_tfjs's own lock
file) apply.
"""

load(
    "//rules_tfjs:repositories.bzl",
    "NODE_REPOSITORY",
    "PYTHON_ENVIRONMENT_ATTRS",
    "PYTHON_REPOSITORY",
    "tfjs_node_modules",
    "tfjs_python_environment",
    "tfjs_toolchains",
    "toolchains_repository",
)

_python_environment = tag_class(
    doc = "Sets the attributes of the converter's Python environment " +
          "(root module only; the same as `tfjs_python_environment`'s).",
    attrs = PYTHON_ENVIRONMENT_ATTRS,
)

def _tfjs_impl(mctx):
    attrs = {}
    for module in mctx.modules:
        if not module.is_root:
            continue
        tags = module.tags.python_environment
        if len(tags) > 1:
            fail(("rules_tfjs: tfjs.python_environment is given {} times in " +
                  "MODULE.bazel; give it once.").format(len(tags)))
        for tag in tags:
            attrs = {name: getattr(tag, name) for name in PYTHON_ENVIRONMENT_ATTRS}
    tfjs_python_environment(name = PYTHON_REPOSITORY, **attrs)
    tfjs_toolchains(
        name = toolchains_repository(PYTHON_REPOSITORY),
        python_repository = PYTHON_REPOSITORY,
    )
    tfjs_node_modules(name = NODE_REPOSITORY)

tfjs = module_extension(
    implementation = _tfjs_impl,
    doc = "Creates `rules_tfjs_python`, the converter's Python environment, " +
          "`rules_tfjs_python_toolchains`, its toolchain declaration, " +
          "and `rules_tfjs_node`, tfjs_model_test's npm packages.",
    tag_classes = {"python_environment": _python_environment},
)
