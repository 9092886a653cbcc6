package org.densenet4j.dl4j;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's ActivationLayer for a plain ReLU, with one pass over the tensor each way instead of two.
 *
 * <p>DL4J's layer copies its input before applying the activation in place (forward) and again
 * before computing the gradient, which its {@code relu_bp} op does at a fraction of memory speed.
 * This one writes {@code max(x, 0)} straight into the output, and the gradient in one pass, both
 * through oneDNN ({@link OneDnnRelu}); where oneDNN cannot run, with libnd4j's ops ({@code step(x) * g}
 * for the gradient). It is the same layer to DL4J: the configuration (and so what
 * {@code ModelSerializer} writes) is DL4J's own {@code ActivationLayer} with {@code Activation.RELU};
 * {@link FastPath} swaps it in for the runtime layer of a graph already built.
 */
final class FastReluLayer extends ActivationLayer {

    /** oneDNN's ReLU, one pass each way; libnd4j's ops where it cannot run. */
    private final OneDnnRelu oneDnn;

    FastReluLayer(NeuralNetConfiguration conf, DataType dataType, FastPathOptions options) {
        super(conf, dataType);
        this.oneDnn = new OneDnnRelu(options);
    }

    /**
     * Whether {@code layer} is DL4J's ActivationLayer running a plain ReLU (no cap, threshold or slope), without
     * dropout.
     */
    static boolean replaces(Layer layer) {
        return layer != null && layer.getClass() == ActivationLayer.class
                && layer.conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer conf
                && new ActivationReLU().equals(conf.getActivationFn()) && conf.getIDropout() == null;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), 'c');
        if (!oneDnn.forward(input, out)) {
            Nd4j.exec(new RectifiedLinear(input, out, 0.0));
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(), input.shape(),
                'c');
        if (!oneDnn.backward(input, epsilon, out)) {
            Nd4j.exec(new Step(input, out, 0.0)); // 1 where x > 0, else 0: DL4J's ReLU gradient, 0 at x = 0
            Nd4j.exec(new MulOp(out, epsilon, out));
        }
        return new Pair<>(new DefaultGradient(), out);
    }
}
