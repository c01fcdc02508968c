from tfjs_converter.node_names import FreeNames


def test_a_taken_name_gets_the_first_free_suffix():
    names = FreeNames(["x/bias", "x/bias_1"])
    assert names.free("x/bias") == "x/bias_2"
    assert names.free("x/bias") == "x/bias_3"  # what it hands out is taken too
    assert names.free("y/bias") == "y/bias"
