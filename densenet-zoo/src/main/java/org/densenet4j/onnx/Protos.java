package org.densenet4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import onnx.Onnx;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.protobuf.UnsafeByteOperations;

/** Small constructors of ONNX protobuf messages: attributes, tensors, typed values. */
final class Protos {

    private Protos() {
    }

    static Onnx.AttributeProto ints(String name, long... values) {
        Onnx.AttributeProto.Builder a = Onnx.AttributeProto.newBuilder().setName(name)
                .setType(Onnx.AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    static Onnx.AttributeProto ints(String name, int[] values) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = values[i];
        }
        return ints(name, l);
    }

    static Onnx.AttributeProto integer(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }

    static Onnx.AttributeProto real(String name, double value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF((float) value).build();
    }

    static Onnx.AttributeProto string(String name, String value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(org.nd4j.shade.protobuf.ByteString.copyFromUtf8(value)).build();
    }

    /** A float32 tensor of {@code dims} holding {@code values} (row-major) as little-endian raw data. */
    static Onnx.TensorProto floats(String name, long[] dims, float[] values) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (n != values.length) {
            throw new IllegalStateException(name + ": " + values.length + " values for dims "
                    + java.util.Arrays.toString(dims));
        }
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                .setRawData(UnsafeByteOperations.unsafeWrap(bytes.array())); // the array is not used again
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** A float32 tensor of {@code array}'s values (row-major, cast from its data type) with {@code dims}. */
    static Onnx.TensorProto floats(String name, long[] dims, INDArray array) {
        return floats(name, dims, values(array));
    }

    /** The values of {@code array} in row-major order, as floats. */
    static float[] values(INDArray array) {
        return array.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    /** An int64 tensor of one dimension. */
    static Onnx.TensorProto longs(String name, long... values) {
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name)
                .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) {
            t.addInt64Data(v);
        }
        return t.build();
    }

    /**
     * A float32 value of the given dimensions: each a Long (a fixed size), a String (a symbolic
     * one) or null (unknown).
     */
    static Onnx.ValueInfoProto value(String name, List<Object> dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (Object d : dims) {
            Onnx.TensorShapeProto.Dimension.Builder dim = shape.addDimBuilder();
            if (d instanceof Long l) {
                dim.setDimValue(l);
            } else if (d instanceof String s) {
                dim.setDimParam(s);
            }
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name)
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                        .setElemType(Onnx.TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
                .build();
    }
}
