#!/bin/sh
# Reads the genrule's output: a test with nothing to do with TF.js.
grep -q 'no TensorFlow here' unrelated.txt
