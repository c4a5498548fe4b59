#!/usr/bin/python3
"""Writes the seed models of the onnx_run fuzz target (tests/fuzz/onnx_run/): small models
that import and run, so that mutations reach the kernels. Run from the repository root
with Debian's python3-onnx: fuzz/make_onnx_run_seeds.py"""
import onnx, numpy as np
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng=np.random.default_rng(3)
def init(name, shape, dtype=np.float32):
    return nh.from_array((rng.standard_normal(shape)*0.5).astype(dtype), name)
def save(nodes, inits, inputs, outputs, name, opset=17):
    g=h.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m=h.make_model(g, opset_imports=[h.make_opsetid("",opset)], producer_name="faultgraph-fuzz-seed")
    onnx.checker.check_model(m)
    onnx.save(m, f"tests/fuzz/onnx_run/{name}.onnx")
# A small CNN: Conv (pads, groups), BatchNormalization, Relu, MaxPool, Add, Concat,
# GlobalAveragePool, Flatten, Gemm, Softmax; a symbolic batch dim.
x=h.make_tensor_value_info("x",T.FLOAT,["N",2,6,6])
nodes=[
 h.make_node("Conv",["x","w1","b1"],["c1"],pads=[1,1,1,1]),
 h.make_node("BatchNormalization",["c1","s","bb","m","v"],["n1"]),
 h.make_node("Relu",["n1"],["r1"]),
 h.make_node("Conv",["r1","w2"],["c2"],pads=[1,1,1,1],group=4),
 h.make_node("Add",["r1","c2"],["a1"]),
 h.make_node("MaxPool",["a1"],["p1"],kernel_shape=[2,2],strides=[2,2]),
 h.make_node("Concat",["p1","p1"],["k1"],axis=1),
 h.make_node("GlobalAveragePool",["k1"],["g1"]),
 h.make_node("Flatten",["g1"],["f1"]),
 h.make_node("Gemm",["f1","w3","b3"],["y0"],transB=1),
 h.make_node("Softmax",["y0"],["y"],axis=1),
]
inits=[init("w1",(4,2,3,3)),init("b1",(4,)),init("s",(4,)),init("bb",(4,)),init("m",(4,)),
       nh.from_array(np.abs(rng.standard_normal(4)).astype(np.float32)+0.5,"v"),
       init("w2",(4,1,3,3)),init("w3",(3,8)),init("b3",(3,))]
save(nodes,inits,[x],[h.make_tensor_value_info("y",T.FLOAT,["N",3])],"small_cnn")
# Attention-like: LayerNormalization, MatMul, Transpose, Div, Softmax, Erf (GELU), Reshape,
# ReduceMean.
x=h.make_tensor_value_info("x",T.FLOAT,[1,4,8])
nodes=[
 h.make_node("LayerNormalization",["x","lg","lb"],["ln"],axis=-1),
 h.make_node("MatMul",["ln","wq"],["q"]),
 h.make_node("MatMul",["ln","wk"],["k"]),
 h.make_node("Transpose",["k"],["kt"],perm=[0,2,1]),
 h.make_node("MatMul",["q","kt"],["sc"]),
 h.make_node("Div",["sc","sq"],["scd"]),
 h.make_node("Softmax",["scd"],["at"],axis=-1),
 h.make_node("MatMul",["at","ln"],["ctx"]),
 h.make_node("Div",["ctx","r2"],["e0"]),
 h.make_node("Erf",["e0"],["e1"]),
 h.make_node("Add",["e1","one"],["e2"]),
 h.make_node("Mul",["ctx","e2"],["e3"]),
 h.make_node("Reshape",["e3","shp"],["rs"]),
 h.make_node("ReduceMean",["rs"],["y"],axes=[1],keepdims=0),
]
inits=[init("lg",(8,)),init("lb",(8,)),init("wq",(8,8)),init("wk",(8,8)),
       nh.from_array(np.array(2.828,np.float32),"sq"),nh.from_array(np.array(1.414,np.float32),"r2"),
       nh.from_array(np.array(1.0,np.float32),"one"),nh.from_array(np.array([1,32],np.int64),"shp")]
save(nodes,inits,[x],[h.make_tensor_value_info("y",T.FLOAT,[1])],"attention",opset=17)
# Shape arithmetic and data movement: Shape, Gather, Range, Cast, Slice, Pad (reflect),
# Split, Squeeze, ConstantOfShape, Expand, Clip.
x=h.make_tensor_value_info("x",T.FLOAT,[2,3,4])
nodes=[
 h.make_node("Shape",["x"],["sh"]),
 h.make_node("Gather",["sh","i2"],["d2"],axis=0),
 h.make_node("Range",["z","d2","o1"],["rg"]),
 h.make_node("Cast",["rg"],["rgf"],to=T.FLOAT),
 h.make_node("Add",["x","rgf"],["xa"]),
 h.make_node("Slice",["xa","st","en","ax"],["sl"]),
 h.make_node("Pad",["sl","pads"],["pd"],mode="reflect"),
 h.make_node("Split",["pd"],["s1","s2"],axis=0),
 h.make_node("Squeeze",["s1","ax0"],["sq1"]),
 h.make_node("ConstantOfShape",["sh3"],["cz"],value=nh.from_array(np.array([0.5],np.float32))),
 h.make_node("Expand",["cz","sh4"],["ex"]),
 h.make_node("Mul",["sq1","ex"],["y1"]),
 h.make_node("Clip",["y1","lo","hi"],["y"]),
]
inits=[nh.from_array(np.array(2,np.int64),"i2"),nh.from_array(np.array(0,np.int64),"z"),nh.from_array(np.array(1,np.int64),"o1"),
 nh.from_array(np.array([0,1],np.int64),"st"),nh.from_array(np.array([3,4],np.int64),"en"),nh.from_array(np.array([1,2],np.int64),"ax"),
 nh.from_array(np.array([0,1,1,0,1,1],np.int64),"pads"),nh.from_array(np.array([0],np.int64),"ax0"),
 nh.from_array(np.array([1,1],np.int64),"sh3"),nh.from_array(np.array([5,5],np.int64),"sh4"),
 nh.from_array(np.array(-1.0,np.float32),"lo"),nh.from_array(np.array(1.0,np.float32),"hi")]
save(nodes,inits,[x],[h.make_tensor_value_info("y",T.FLOAT,[5,5])],"shape_ops",opset=13)
