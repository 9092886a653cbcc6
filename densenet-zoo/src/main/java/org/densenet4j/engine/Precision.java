package org.densenet4j.engine;

import java.util.Locale;

import org.densenet4j.onednn.OneDnn;

/**
 * The number format a compiled graph computes its feature maps in.
 *
 * <ul>
 *   <li>{@link #FP32}: 32-bit floats throughout, the default.</li>
 *   <li>{@link #BF16}: convolution weights and the feature maps between operations in bfloat16 (8 bits
 *       of mantissa), products accumulated in fp32 inside oneDNN's kernels; the input is converted
 *       from fp32 at the start and the outputs (pooled features, the classifier and its logits or
 *       probabilities) are fp32. About twice fp32's rate on CPUs with AVX512_BF16 or AMX; where the
 *       CPU has neither, a graph compiled for bf16 runs fp32 (see {@link #bf16Supported()}).</li>
 * </ul>
 */
public enum Precision {
    FP32,
    BF16;

    /**
     * The precision named {@code name} ({@code fp32} or {@code bf16}, any case).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static Precision parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "fp32", "f32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            case "int8" -> throw new IllegalArgumentException("precision 'int8' is not implemented yet: "
                    + "expected fp32 or bf16");
            default -> throw new IllegalArgumentException("precision '" + name + "': expected fp32 or bf16");
        };
    }

    /** The lower-case name: {@code fp32}, {@code bf16}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Whether this CPU runs oneDNN's bf16 convolutions in its own instructions (AVX512_BF16 or AMX):
     * elsewhere oneDNN emulates them, slower than fp32.
     */
    public static boolean bf16Supported() {
        return OneDnn.LOADED && OneDnn.BF16;
    }

    /** The precision a graph compiled for this one runs in here: bf16 only where {@link #bf16Supported()}. */
    public Precision effective() {
        return this == BF16 && !bf16Supported() ? FP32 : this;
    }
}
