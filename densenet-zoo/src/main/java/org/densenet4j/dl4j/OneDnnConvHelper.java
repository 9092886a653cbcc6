package org.densenet4j.dl4j;

import org.densenet4j.onednn.ConvGeometry;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdDataAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.BwdFilterAlgo;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's oneDNN convolution helper with faster passes: oneDNN called directly, with the primitives
 * of each input shape built once and kept.
 *
 * <p>libnd4j's {@code conv2d} and {@code conv2d_bp} (what {@link MKLDNNConvHelper} runs) set up their
 * oneDNN primitives and convert the data to and from oneDNN's blocked layout on every call; on
 * DenseNet's many small convolutions that costs more than the arithmetic (the 120 forward
 * convolutions of DenseNet-121 at batch 1: 108-130 ms through libnd4j against about 50 ms this way).
 * Per shape this helper picks the layout oneDNN runs fastest on these shapes: 1x1 stride-1
 * convolutions straight on the NCHW arrays (a matrix product, no conversion), the others in oneDNN's
 * blocked layout with the data converted in shared scratch buffers. Weights are converted on every
 * call, so updates to them in place (training, {@code setParams}) are always seen.
 *
 * <p>NHWC, dilated, causal or non-float convolutions are {@link MKLDNNConvHelper}'s, as is any shape
 * oneDNN turns down. As a subclass the helper is, to DL4J's ConvolutionLayer, its own oneDNN helper
 * (it checks the class for bias handling and fallback messages).
 */
final class OneDnnConvHelper extends MKLDNNConvHelper {

        /**
         * Plans per pass and input shape; a layer sees one or two shapes (batch sizes) in practice. Null: oneDNN said
         * no.
         */
    private final OneDnn.Plans<OneDnn.Plan> plans = new OneDnn.Plans<>();

    OneDnnConvHelper(DataType dataType) {
        super(dataType);
    }

    /** Whether oneDNN's natives loaded. */
    static boolean available() {
        return OneDnn.LOADED;
    }

    /** DL4J's asks a class 1.0.0-M2.1 moved, and always says no. */
    @Override
    public boolean checkSupported() {
        return NativeDefaults.libnd4jUsesOneDnn();
    }

    @Override
    public INDArray preOutput(INDArray input, INDArray weights, INDArray bias, int[] kernel, int[] strides, int[] pad,
            AlgoMode mode, FwdAlgo fwdAlgo, ConvolutionMode convolutionMode, int[] dilation, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        ConvGeometry g = ConvGeometry.of(input, weights, kernel, strides, pad, convolutionMode, dilation, format);
        OneDnn.Plan plan = g == null ? null : plan(g, false, bias != null);
        if (plan == null) {
            return super.preOutput(input, weights, bias, kernel, strides, pad, mode, fwdAlgo, convolutionMode,
                    dilation, format, workspaceMgr);
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, g.dst());
        plan.run(HostArrays.contiguous(input), HostArrays.contiguous(weights),
                bias == null ? null : HostArrays.contiguous(bias), out);
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray weights, INDArray bias, INDArray delta,
            int[] kernel, int[] strides, int[] pad, INDArray biasGradView, INDArray weightGradView, IActivation afn,
            AlgoMode mode, BwdFilterAlgo bwdFilterAlgo, BwdDataAlgo bwdDataAlgo, ConvolutionMode convolutionMode,
            int[] dilation, CNN2DFormat format, LayerWorkspaceMgr workspaceMgr) {
        ConvGeometry g = ConvGeometry.of(input, weights, kernel, strides, pad, convolutionMode, dilation, format);
        // A layer without bias has no bias parameter; DL4J may still hand a placeholder gradient view.
        boolean hasBias = bias != null && biasGradView != null;
        boolean direct = g != null && HostArrays.denseRowMajor(weightGradView)
                && weightGradView.dataType() == DataType.FLOAT
                && (!hasBias || HostArrays.denseRowMajor(biasGradView))
                && java.util.Arrays.equals(delta.shape(), g.dst());
        OneDnn.Plan plan = direct ? plan(g, true, hasBias) : null;
        if (plan == null) {
            return super.backpropGradient(input, weights, bias, delta, kernel, strides, pad, biasGradView,
                    weightGradView, afn, mode, bwdFilterAlgo, bwdDataAlgo, convolutionMode, dilation, format,
                    workspaceMgr);
        }
        INDArray inputGrad = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, g.src());
        plan.run(HostArrays.contiguous(input), HostArrays.contiguous(weights), HostArrays.contiguous(delta),
                inputGrad, weightGradView, hasBias ? biasGradView : null);
        Gradient gradient = new DefaultGradient();
        if (hasBias) {
            gradient.gradientForVariable().put(ConvolutionParamInitializer.BIAS_KEY, biasGradView);
        }
        gradient.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY, weightGradView);
        return new Pair<>(gradient, inputGrad);
    }

    private OneDnn.Plan plan(ConvGeometry g, boolean backward, boolean hasBias) {
        return plans.get(g.key(backward, hasBias),
                () -> backward ? backward(g, hasBias) : forward(g, hasBias));
    }

    /** The forward pass as a plan: user arrays input, weights, bias (or none), output. */
    static OneDnn.Plan forward(ConvGeometry g, boolean hasBias) {
        try {
            OneDnn.Plan p = new OneDnn.Plan(OneDnn.unbound(g.plain(g.src())), OneDnn.unbound(g.plainWeights()),
                    hasBias ? OneDnn.unbound(g.bias()) : null, OneDnn.unbound(g.plain(g.dst())));
            var pd = g.forward(dnnl.prop_kind.forward_inference, hasBias);
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, p.in(0, pd.src_desc()),
                    dnnl.DNNL_ARG_WEIGHTS, p.in(1, pd.weights_desc()), dnnl.DNNL_ARG_DST, p.out(3, pd.dst_desc()));
            if (hasBias) {
                args.put(dnnl.DNNL_ARG_BIAS, p.user(2));
            }
            return p.then(new convolution_forward(pd), args);
        } catch (RuntimeException e) { // oneDNN's error: this shape is not for it
            return null;
        }
    }

    /**
     * The backward pass as a plan: user arrays input, weights, output gradient, input gradient, weight gradient, bias
     * gradient (or none).
     */
    static OneDnn.Plan backward(ConvGeometry g, boolean hasBias) {
        try {
            OneDnn.Plan p = new OneDnn.Plan(OneDnn.unbound(g.plain(g.src())), OneDnn.unbound(g.plainWeights()),
                    OneDnn.unbound(g.plain(g.dst())), OneDnn.unbound(g.plain(g.src())),
                    OneDnn.unbound(g.plainWeights()), hasBias ? OneDnn.unbound(g.bias()) : null);
            var hint = g.forward(dnnl.prop_kind.forward_training, hasBias);
            var dataPd = new convolution_backward_data.primitive_desc(new convolution_backward_data.desc(
                    dnnl.algorithm.convolution_direct, g.wanted(g.src()),
                    new memory.desc(g.weights(), memory.data_type.f32, memory.format_tag.any), g.wanted(g.dst()),
                    g.strides(), g.padLeft(), g.padRight()), OneDnn.ENGINE, hint);
            var weightsPd = new convolution_backward_weights.primitive_desc(new convolution_backward_weights.desc(
                    dnnl.algorithm.convolution_direct, g.wanted(g.src()),
                    new memory.desc(g.weights(), memory.data_type.f32, memory.format_tag.any),
                    hasBias ? g.bias() : new memory.desc(), g.wanted(g.dst()), g.strides(), g.padLeft(),
                    g.padRight()), OneDnn.ENGINE, hint);
            p.then(new convolution_backward_data(dataPd), OneDnn.args(
                    dnnl.DNNL_ARG_DIFF_DST, p.in(2, dataPd.diff_dst_desc()),
                    dnnl.DNNL_ARG_WEIGHTS, p.in(1, dataPd.weights_desc()),
                    dnnl.DNNL_ARG_DIFF_SRC, p.out(3, dataPd.diff_src_desc())));
            IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, p.in(0, weightsPd.src_desc()),
                    dnnl.DNNL_ARG_DIFF_DST, p.in(2, weightsPd.diff_dst_desc()),
                    dnnl.DNNL_ARG_DIFF_WEIGHTS, p.out(4, weightsPd.diff_weights_desc()));
            if (hasBias) {
                args.put(dnnl.DNNL_ARG_DIFF_BIAS, p.user(5));
            }
            return p.then(new convolution_backward_weights(weightsPd), args);
        } catch (RuntimeException e) { // oneDNN's error: this shape is not for it
            return null;
        }
    }
}
