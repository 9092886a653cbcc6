import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.densenet4j.dl4j.NativeDefaults;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The convolutions of a DenseNet preset alone: libnd4j's {@code conv2d} (infer) or {@code conv2d_bp}
 * (train) called directly on every convolution shape of the graph, outside DL4J's layers, so that
 * their sum can be set beside PyTorch's for the same shapes ({@code torch_conv_ops.py}) and beside
 * the whole network's time. Shapes come from the graph DenseNetBuilder builds. {@code --impl} picks
 * another implementation: {@code helper} (the zoo's OneDnnConvHelper, forward or backward),
 * {@code dnnl} / {@code dnnl-blocked} (oneDNN's forward primitive on plain or blocked layouts) or
 * {@code gemm} (1x1 forward passes as one matrix product).
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/ConvOps.java \
 *     --model densenet121 --batch 1 --mode infer --out conv-ops.json
 * </pre>
 * Writes one JSON object: the model, batch, mode, and per convolution its name, shapes and median ms.
 */
public final class ConvOps {

    record Conv(String name, long[] input, long[] weights, long stride, long pad) {}

    public static void main(String[] args) throws IOException {
        NativeDefaults.apply(); // the oneDNN natives, as the CLI runs them
        String model = option(args, "--model", "densenet121");
        int batch = Integer.parseInt(option(args, "--batch", "1"));
        String mode = option(args, "--mode", "infer");
        int warmup = Integer.parseInt(option(args, "--warmup", "3"));
        int iterations = Integer.parseInt(option(args, "--iterations", "10"));
        String impl = option(args, "--impl", "conv2d");
        boolean gemm = impl.equals("gemm");
        Path out = Path.of(option(args, "--out", "conv-ops.json"));
        if (!mode.equals("infer") && !mode.equals("train")) {
            throw new IllegalArgumentException("--mode must be infer or train, not " + mode);
        }

        DenseNetConfig config = DenseNetPreset.fromId(model).config();
        List<Conv> convs = convolutions(config, batch);
        StringBuilder json = new StringBuilder(String.format(Locale.ROOT,
                "{\"model\":\"%s\",\"batch\":%d,\"mode\":\"%s\",\"impl\":\"%s\",\"backend\":\"%s\",\"threads\":%s,\"convs\":[",
                model, batch, mode, impl, Nd4j.getBackend().getClass().getSimpleName(),
                System.getenv().getOrDefault("OMP_NUM_THREADS", "null")));
        double total = 0;
        for (int i = 0; i < convs.size(); i++) {
            Conv c = convs.get(i);
            double ms = median(gemm && pointwise(c) && mode.equals("infer") ? timeGemm(c, warmup, iterations)
                    : impl.startsWith("dnnl") ? timeDnnl(c, impl.equals("dnnl-blocked"), warmup, iterations)
                    : impl.equals("helper") ? timeHelper(c, mode.equals("train"), warmup, iterations)
                    : time(c, mode.equals("train"), warmup, iterations));
            total += ms;
            json.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"name\":\"%s\",\"input\":%s,\"weights\":%s,\"stride\":%d,\"pad\":%d,\"ms\":%.4f}",
                    c.name(), Arrays.toString(c.input()), Arrays.toString(c.weights()), c.stride(), c.pad(), ms));
        }
        json.append(String.format(Locale.ROOT, "],\"total_ms\":%.3f}%n", total));
        Path tmp = Files.createTempFile(out.toAbsolutePath().getParent(), out.getFileName().toString(), ".tmp");
        Files.writeString(tmp, json);
        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        System.out.printf(Locale.ROOT, "%s batch %d %s, --impl %s: %d convolutions, sum of medians %.1f ms (%s)%n",
                model, batch, mode.equals("train") ? "backward" : "forward", impl, convs.size(), total, out);
    }

    /** Every ConvolutionLayer of the graph, with the shape of its input at this batch size. */
    static List<Conv> convolutions(DenseNetConfig config, int batch) {
        ComputationGraphConfiguration conf = DenseNetBuilder.build(config);
        InputType inputType = InputType.convolutional(config.inputHeight(), config.inputWidth(), config.inputChannels());
        Map<String, InputType> types = conf.getLayerActivationTypes(inputType);
        List<Conv> convs = new ArrayList<>();
        for (String name : conf.getVertices().keySet()) { // insertion order: the order the builder added them
            if (!(conf.getVertices().get(name) instanceof LayerVertex vertex)
                    || !(vertex.getLayerConf().getLayer() instanceof ConvolutionLayer layer)) {
                continue;
            }
            String from = conf.getVertexInputs().get(name).get(0);
            InputType.InputTypeConvolutional in = (InputType.InputTypeConvolutional)
                    (from.equals(DenseNetBuilder.INPUT) ? inputType : types.get(from));
            int[] k = layer.getKernelSize();
            convs.add(new Conv(name, new long[] {batch, in.getChannels(), in.getHeight(), in.getWidth()},
                    new long[] {layer.getNOut(), layer.getNIn(), k[0], k[1]}, layer.getStride()[0], layer.getPadding()[0]));
        }
        return convs;
    }

    /** Milliseconds per call of conv2d, or of conv2d_bp (gradients of input and weights). */
    static double[] time(Conv c, boolean backward, int warmup, int iterations) {
        INDArray x = Nd4j.rand(DataType.FLOAT, c.input());
        INDArray w = Nd4j.rand(DataType.FLOAT, c.weights()).subi(0.5);
        Conv2DConfig cfg = Conv2DConfig.builder().kH(c.weights()[2]).kW(c.weights()[3]).sH(c.stride()).sW(c.stride())
                .pH(c.pad()).pW(c.pad()).dH(1).dW(1).paddingMode(PaddingMode.VALID).dataFormat("NCHW")
                .weightsFormat(WeightsFormat.OIYX).build();
        long outH = (c.input()[2] + 2 * c.pad() - c.weights()[2]) / c.stride() + 1;
        long outW = (c.input()[3] + 2 * c.pad() - c.weights()[3]) / c.stride() + 1;
        INDArray y = Nd4j.create(DataType.FLOAT, c.input()[0], c.weights()[0], outH, outW);
        CustomOp op;
        if (backward) {
            long[] iArgs = new Conv2D(new INDArray[] {x, w}, new INDArray[] {y}, cfg).iArgs();
            INDArray gradOut = Nd4j.rand(DataType.FLOAT, y.shape());
            op = DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, gradOut)
                    .addOutputs(Nd4j.create(DataType.FLOAT, c.input()), Nd4j.create(DataType.FLOAT, c.weights()))
                    .addIntegerArguments(Arrays.stream(iArgs).mapToInt(Math::toIntExact).toArray()).build();
        } else {
            op = new Conv2D(new INDArray[] {x, w}, new INDArray[] {y}, cfg);
        }
        CustomOp conv = op;
        return measure(() -> Nd4j.exec(conv), warmup, iterations);
    }

    /** A 1x1, stride-1, unpadded convolution: in NCHW one matrix product per image. */
    static boolean pointwise(Conv c) {
        return c.weights()[2] == 1 && c.weights()[3] == 1 && c.stride() == 1 && c.pad() == 0;
    }

    /** Milliseconds per forward pass of a pointwise convolution as {@code y[n] = W x[n]} (BLAS sgemm). */
    static double[] timeGemm(Conv c, int warmup, int iterations) {
        long n = c.input()[0];
        long positions = c.input()[2] * c.input()[3];
        INDArray x = Nd4j.rand(DataType.FLOAT, n, c.input()[1], positions);
        INDArray w = Nd4j.rand(DataType.FLOAT, c.weights()[0], c.weights()[1]).subi(0.5);
        INDArray y = Nd4j.create(DataType.FLOAT, n, c.weights()[0], positions);
        Runnable op = () -> {
            for (long i = 0; i < n; i++) {
                Nd4j.gemm(w, x.slice(i), y.slice(i), false, false, 1.0, 0.0);
            }
        };
        return measure(op, warmup, iterations);
    }

    /**
     * Milliseconds per call of the zoo's OneDnnConvHelper (preOutput, or backpropGradient for the
     * gradients of input and weights), as DL4J's ConvolutionLayer calls it, its output in a workspace.
     */
    static double[] timeHelper(Conv c, boolean backward, int warmup, int iterations) {
        org.deeplearning4j.nn.layers.convolution.ConvolutionHelper helper;
        try {
            var make = Class.forName("org.densenet4j.dl4j.OneDnnConvHelper").getDeclaredConstructor(DataType.class);
            make.setAccessible(true);
            helper = (org.deeplearning4j.nn.layers.convolution.ConvolutionHelper) make.newInstance(DataType.FLOAT);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, c.input());
        INDArray w = Nd4j.rand(DataType.FLOAT, c.weights()).subi(0.5);
        INDArray b = Nd4j.zeros(DataType.FLOAT, 1, c.weights()[0]);
        int[] k = {(int) c.weights()[2], (int) c.weights()[3]};
        int[] s = {(int) c.stride(), (int) c.stride()};
        int[] p = {(int) c.pad(), (int) c.pad()};
        // A workspace for the outputs, as DL4J's layers have: after the first call no allocation.
        var wsConf = org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration.builder()
                .policyLearning(org.nd4j.linalg.api.memory.enums.LearningPolicy.FIRST_LOOP)
                .policyAllocation(org.nd4j.linalg.api.memory.enums.AllocationPolicy.STRICT).build();
        var type = backward ? org.deeplearning4j.nn.workspace.ArrayType.ACTIVATION_GRAD
                : org.deeplearning4j.nn.workspace.ArrayType.ACTIVATIONS;
        var none = org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.builder().with(type, "convops", wsConf)
                .build();
        var truncate = org.deeplearning4j.nn.conf.ConvolutionMode.Truncate;
        var nchw = org.deeplearning4j.nn.conf.CNN2DFormat.NCHW;
        long outH = (c.input()[2] + 2 * c.pad() - c.weights()[2]) / c.stride() + 1;
        long outW = (c.input()[3] + 2 * c.pad() - c.weights()[3]) / c.stride() + 1;
        INDArray delta = Nd4j.rand(DataType.FLOAT, c.input()[0], c.weights()[0], outH, outW);
        INDArray wGrad = Nd4j.create(DataType.FLOAT, c.weights());
        Runnable op = () -> {
            try (var ws = none.notifyScopeEntered(type)) {
                if (backward) {
                    helper.backpropGradient(x, w, null, delta, k, s, p, null, wGrad, null, null, null, null, truncate,
                            new int[] {1, 1}, nchw, none);
                } else {
                    helper.preOutput(x, w, b, k, s, p, null, null, truncate, new int[] {1, 1}, nchw, none);
                }
            }
        };
        return measure(op, warmup, iterations);
    }

    static org.bytedeco.dnnl.engine engine;
    static org.bytedeco.dnnl.stream stream;

    /**
     * Milliseconds per forward pass through oneDNN directly: the primitive built once, the weights
     * reordered once to its preferred layout; source and destination either plain NCHW (no reorders)
     * or, if blocked, reordered to and from the primitive's layout on every call.
     */
    static double[] timeDnnl(Conv c, boolean blocked, int warmup, int iterations) {
        if (engine == null) {
            engine = new org.bytedeco.dnnl.engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
            stream = new org.bytedeco.dnnl.stream(engine);
        }
        var f32 = org.bytedeco.dnnl.memory.data_type.f32;
        var nchw = org.bytedeco.dnnl.memory.format_tag.nchw;
        var any = org.bytedeco.dnnl.memory.format_tag.any;
        long outH = (c.input()[2] + 2 * c.pad() - c.weights()[2]) / c.stride() + 1;
        long outW = (c.input()[3] + 2 * c.pad() - c.weights()[3]) / c.stride() + 1;
        long[] outShape = {c.input()[0], c.weights()[0], outH, outW};
        INDArray x = Nd4j.rand(DataType.FLOAT, c.input());
        INDArray w = Nd4j.rand(DataType.FLOAT, c.weights()).subi(0.5);
        INDArray y = Nd4j.create(DataType.FLOAT, outShape);
        var srcPlain = new org.bytedeco.dnnl.memory.desc(c.input(), f32, nchw);
        var dstPlain = new org.bytedeco.dnnl.memory.desc(outShape, f32, nchw);
        var wPlain = new org.bytedeco.dnnl.memory.desc(c.weights(), f32, org.bytedeco.dnnl.memory.format_tag.oihw);
        var desc = new org.bytedeco.dnnl.convolution_forward.desc(
                org.bytedeco.dnnl.global.dnnl.prop_kind.forward_inference,
                org.bytedeco.dnnl.global.dnnl.algorithm.convolution_direct,
                blocked ? new org.bytedeco.dnnl.memory.desc(c.input(), f32, any) : srcPlain,
                new org.bytedeco.dnnl.memory.desc(c.weights(), f32, any),
                new org.bytedeco.dnnl.memory.desc(),
                blocked ? new org.bytedeco.dnnl.memory.desc(outShape, f32, any) : dstPlain,
                new long[] {c.stride(), c.stride()}, new long[] {c.pad(), c.pad()}, new long[] {c.pad(), c.pad()});
        var pd = new org.bytedeco.dnnl.convolution_forward.primitive_desc(desc, engine);
        var conv = new org.bytedeco.dnnl.convolution_forward(pd);
        var xMem = new org.bytedeco.dnnl.memory(srcPlain, engine, x.data().addressPointer());
        var yMem = new org.bytedeco.dnnl.memory(dstPlain, engine, y.data().addressPointer());
        var wUser = new org.bytedeco.dnnl.memory(wPlain, engine, w.data().addressPointer());
        var wMem = new org.bytedeco.dnnl.memory(pd.weights_desc(), engine);
        new org.bytedeco.dnnl.reorder(wUser, wMem).execute(stream, args(
                org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM, wUser, org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO, wMem));
        Runnable op;
        if (blocked) {
            var xB = new org.bytedeco.dnnl.memory(pd.src_desc(), engine);
            var yB = new org.bytedeco.dnnl.memory(pd.dst_desc(), engine);
            var in = new org.bytedeco.dnnl.reorder(xMem, xB);
            var out = new org.bytedeco.dnnl.reorder(yB, yMem);
            var inArgs = args(org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM, xMem, org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO, xB);
            var outArgs = args(org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM, yB, org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO, yMem);
            var convArgs = args(org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC, xB,
                    org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS, wMem, org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST, yB);
            op = () -> {
                in.execute(stream, inArgs);
                conv.execute(stream, convArgs);
                out.execute(stream, outArgs);
                stream._wait();
            };
        } else {
            var convArgs = args(org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC, xMem,
                    org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS, wMem, org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST, yMem);
            op = () -> {
                conv.execute(stream, convArgs);
                stream._wait();
            };
        }
        return measure(op, warmup, iterations);
    }

    static org.bytedeco.dnnl.IntMemoryMap args(Object... keysAndMemories) {
        var map = new org.bytedeco.dnnl.IntMemoryMap();
        for (int i = 0; i < keysAndMemories.length; i += 2) {
            map.put((Integer) keysAndMemories[i], (org.bytedeco.dnnl.memory) keysAndMemories[i + 1]);
        }
        return map;
    }

    /** Milliseconds of each of {@code iterations} runs of {@code op}, after {@code warmup} untimed ones. */
    static double[] measure(Runnable op, int warmup, int iterations) {
        for (int i = 0; i < warmup; i++) {
            op.run();
        }
        double[] ms = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t = System.nanoTime();
            op.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        return ms;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
