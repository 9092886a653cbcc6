package org.densenet4j.engine;

/**
 * The arithmetic of folding an inference batch norm into the convolution before it, apart from any
 * graph surgery: {@code bn(conv(x))} with the running statistics is {@code conv'(x)} with each
 * output channel's weights scaled by {@code gamma / sqrt(var + eps)} and the bias
 * {@code (b - mean) * scale + beta} (in double precision, rounded once).
 */
final class BatchNormFolding {

    private BatchNormFolding() {
    }

    /** Weights and bias of the folded convolution. */
    record Folded(float[] weights, float[] bias) {
    }

    /**
     * @param weights the convolution's weights, [out, ...] in row-major order (not changed)
     * @param bias    its bias, or null for none
     */
    static Folded fold(float[] weights, float[] bias, NormParameters bn) {
        int outputs = bn.gamma().length;
        int perOutput = weights.length / outputs;
        float[] w = new float[weights.length];
        float[] b = new float[outputs];
        for (int o = 0; o < outputs; o++) {
            double scale = bn.gamma()[o] / Math.sqrt((double) bn.var()[o] + bn.eps());
            for (int i = o * perOutput; i < (o + 1) * perOutput; i++) {
                w[i] = (float) (weights[i] * scale);
            }
            double before = bias == null ? 0 : bias[o];
            b[o] = (float) ((before - bn.mean()[o]) * scale + bn.beta()[o]);
        }
        return new Folded(w, b);
    }
}
