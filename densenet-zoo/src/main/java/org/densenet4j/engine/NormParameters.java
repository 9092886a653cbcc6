package org.densenet4j.engine;

import java.util.Arrays;

import org.deeplearning4j.nn.api.Layer;
import org.densenet4j.engine.ir.Node;

/**
 * A batch norm's inference parameters as plain arrays, snapshotted from its DL4J layer: gamma and
 * beta (the constants, for a layer with locked ones), the running mean and variance (from DL4J's
 * log10 standard deviation, for a layer that keeps that), and epsilon.
 */
record NormParameters(float[] gamma, float[] beta, float[] mean, float[] var, float eps) {

    static NormParameters of(Node.Norm norm, Layer layer) {
        float[] mean = floats(layer, "mean");
        int channels = mean.length;
        float[] gamma = norm.locked() ? filledWith(channels, norm.gamma()) : floats(layer, "gamma");
        float[] beta = norm.locked() ? filledWith(channels, norm.beta()) : floats(layer, "beta");
        float[] var;
        if (norm.logStd()) { // var = (10^log10std)^2
            float[] log10Std = floats(layer, "log10stdev");
            var = new float[log10Std.length];
            for (int i = 0; i < var.length; i++) {
                var[i] = (float) Math.pow(10, 2.0 * log10Std[i]);
            }
        } else {
            var = floats(layer, "var");
        }
        return new NormParameters(gamma, beta, mean, var, (float) norm.eps());
    }

    /**
     * The normalisation as one multiply-add per channel, {@code x * scale + shift}: {@code scale =
     * gamma / sqrt(var + eps)}, {@code shift = beta - mean * scale} (in double precision, rounded once).
     */
    float[][] affine() {
        float[] scale = new float[gamma.length];
        float[] shift = new float[gamma.length];
        for (int c = 0; c < gamma.length; c++) {
            double s = gamma[c] / Math.sqrt((double) var[c] + eps);
            scale[c] = (float) s;
            shift[c] = (float) (beta[c] - mean[c] * s);
        }
        return new float[][] {scale, shift};
    }

    static float[] floats(Layer layer, String param) {
        return layer.getParam(param).dup('c').data().asFloat();
    }

    private static float[] filledWith(int n, double value) {
        float[] a = new float[n];
        Arrays.fill(a, (float) value);
        return a;
    }
}
