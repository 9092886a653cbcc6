package org.densenet4j.torch;

import java.util.Arrays;
import java.util.Locale;

/**
 * One entry of a PyTorch state_dict: its key, element type and shape, and, for floating-point types,
 * its values as float32 (float16 and bfloat16 widen exactly; float64 rounds, as the Keras reader
 * does). Integer and boolean entries ({@code num_batches_tracked}) carry no values.
 *
 * @param key    the state_dict key, e.g. {@code features.conv0.weight}
 * @param dtype  the element type as stored
 * @param shape  the tensor's shape
 * @param values the values in row-major order, or null for a non-floating type
 */
public record StateTensor(String key, DType dtype, long[] shape, float[] values) {

    /** Element types of PyTorch storages and safetensors, with their sizes. */
    public enum DType {
        F32(4, true), F64(8, true), F16(2, true), BF16(2, true),
        I64(8, false), I32(4, false), I16(2, false), I8(1, false), U8(1, false), BOOL(1, false);

        private final int bytes;
        private final boolean floating;

        DType(int bytes, boolean floating) {
            this.bytes = bytes;
            this.floating = floating;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }

        /** Whether the type holds floating-point values. */
        public boolean floating() {
            return floating;
        }

        /** The PyTorch name, e.g. {@code float16}. */
        public String torchName() {
            return switch (this) {
                case F32 -> "float32";
                case F64 -> "float64";
                case F16 -> "float16";
                case BF16 -> "bfloat16";
                case BOOL -> "bool";
                case U8 -> "uint8";
                default -> "int" + bytes * 8;
            };
        }

        @Override
        public String toString() {
            return torchName();
        }

        /** The type of a safetensors {@code dtype} field, e.g. {@code F32}, or null. */
        static DType ofSafetensors(String name) {
            for (DType t : values()) {
                if (t.name().equals(name)) {
                    return t;
                }
            }
            return null;
        }

        /** The type of a PyTorch storage class, e.g. {@code FloatStorage}, or null. */
        static DType ofStorage(String name) {
            return switch (name) {
                case "FloatStorage" -> F32;
                case "DoubleStorage" -> F64;
                case "HalfStorage" -> F16;
                case "BFloat16Storage" -> BF16;
                case "LongStorage" -> I64;
                case "IntStorage" -> I32;
                case "ShortStorage" -> I16;
                case "CharStorage" -> I8;
                case "ByteStorage" -> U8;
                case "BoolStorage" -> BOOL;
                default -> null;
            };
        }
    }

    /** The number of elements of {@code shape}, or -1 past {@code limit}. */
    static long count(long[] shape, long limit) {
        long n = 1;
        for (long d : shape) {
            if (d < 0 || (d > 0 && n > limit / d)) {
                return -1;
            }
            n *= d;
        }
        return n;
    }

    /** The shape as PyTorch prints it, e.g. {@code [64, 3, 7, 7]}. */
    public String shapeText() {
        return Arrays.toString(shape);
    }

    /** float16 bits as the float32 of the same value (exact). */
    static float halfToFloat(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13)); // inf or NaN
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal: exact, mant < 2^10
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %s %s", key, dtype, shapeText());
    }
}
