package org.densenet4j.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import onnx.Onnx;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.io.ModelCard;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.protobuf.CodedOutputStream;

/**
 * Writes a DL4J ComputationGraph (a DenseNet of the zoo, or any graph of the layers it maps) as an
 * ONNX model, with the ONNX protobuf classes that nd4j-api ships ({@code onnx.Onnx}, over ND4J's
 * shaded protobuf).
 *
 * <p>What the file holds:
 * <ul>
 *   <li>one input, named as the graph's (the zoo's {@code data}): float32, NCHW,
 *       {@code [batch, C, H, W]} with the batch dimension open ({@value #BATCH}) and the height and
 *       width fixed at the input size (the options', else the card's), or open ({@code height}, {@code width}) with
 *       {@link Options#dynamicSize()};</li>
 *   <li>the graph's outputs, named as its output vertices (the zoo's {@code fc6}: the softmax
 *       probabilities {@code [batch, classes]}; a headless graph's pooled features or feature maps);</li>
 *   <li>one ONNX node per DL4J vertex, making the value of the vertex's name (an operation with an
 *       activation makes {@code name/conv} or {@code name/gemm} first), and initializers named
 *       {@code <layer>.weight}, {@code .bias}, {@code .running_mean}, {@code .running_var} as
 *       PyTorch names them; all in the default domain at opset {@link Options#opset()};</li>
 *   <li>batch norms as {@code BatchNormalization} nodes with DL4J's running statistics and epsilon,
 *       not folded: DenseNet's batch norms come before their ReLU and convolution (BN-ReLU-conv),
 *       so only the stem's and the bottlenecks' follow a convolution and could be folded at all;
 *       kept, every parameter of the model zip is in the file under its layer's name, and ONNX
 *       Runtime folds those that follow a convolution itself when it loads the model (its basic
 *       graph optimisation, {@code ConvBNFusion}), so folding here would gain nothing at run time;</li>
 *   <li>in {@code metadata_props}, the model card's fields when there is one: {@code preprocessing},
 * {@code transform} (the card's {@link org.densenet4j.zoo.io.ImageTransform} as JSON), {@code input_size} ({@code
 * HxWxC}), {@code labels} (a JSON array of the class names, in
 *       output order) and {@code source.<key>} for its provenance; then the options' own entries.</li>
 * </ul>
 *
 * <p>Vertices with no exact ONNX counterpart (NHWC or causal layers, dilated pooling, recurrent
 * layers, preprocessors, ...) are refused with an {@link UnsupportedOperationException} naming the
 * vertex and its type; nothing is written then.
 */
public final class OnnxExport {

    /** The symbolic name of the batch dimension of the input and outputs. */
    public static final String BATCH = "batch";
    /** The lowest ONNX opset written: the first with today's Softmax, Gemm and Concat. */
    public static final int MIN_OPSET = 13;
    /**
     * The highest ONNX opset written: that of IR version 8, the last one nd4j-api's ONNX classes know
     * ({@code onnx.Onnx.Version.IR_VERSION}); the operators used keep the same meaning up to it.
     */
    public static final int MAX_OPSET = 18;
    /** The producer_name of the files written. */
    public static final String PRODUCER = "DenseNet4J";
    /** The largest file written in one piece; protobuf messages stop at 2 GiB. */
    static final long MAX_BYTES = (2L << 30) - (64L << 20);

    private static final ObjectMapper JSON = new ObjectMapper();

    private OnnxExport() {
    }

    /**
     * How a graph is exported.
     *
     * @param opset       the ONNX opset, {@value #MIN_OPSET} to {@value #MAX_OPSET}
     * @param height      the input height, or 0 for the card's (a DL4J graph does not record its input size)
     * @param width       the input width, or 0 for the card's
     * @param dynamicSize whether the input's height and width are left open (the zoo's DenseNets take
     *                    any size at or above their minimum) rather than fixed at the input size
     * @param card        the model card whose fields go into metadata_props, or null
     * @param metadata    further metadata_props entries, written after the card's
     */
    public record Options(int opset, int height, int width, boolean dynamicSize, ModelCard card,
                          Map<String, String> metadata) {

        /** Validates the opset and the size, and copies the metadata (in its order). */
        public Options {
            if (opset < MIN_OPSET || opset > MAX_OPSET) {
                throw new IllegalArgumentException("ONNX opset " + opset + " is not written; use " + MIN_OPSET
                        + " to " + MAX_OPSET);
            }
            if (height < 0 || width < 0 || (height == 0) != (width == 0)) {
                throw new IllegalArgumentException("input size " + height + "x" + width
                        + " is neither a size nor 0x0 (the card's)");
            }
            metadata = metadata == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }

        /** Opset {@value #MIN_OPSET}, the card's input size, no card, no further metadata. */
        public static Options defaults() {
            return new Options(MIN_OPSET, 0, 0, false, null, Map.of());
        }

        /** These options with opset {@code opset}. */
        public Options withOpset(int opset) {
            return new Options(opset, height, width, dynamicSize, card, metadata);
        }

        /** These options with the input size {@code height x width}. */
        public Options withInputSize(int height, int width) {
            return new Options(opset, height, width, dynamicSize, card, metadata);
        }

        /** These options with the height and width left open, or not. */
        public Options withDynamicSize(boolean dynamicSize) {
            return new Options(opset, height, width, dynamicSize, card, metadata);
        }

        /** These options with {@code card}'s fields in the metadata. */
        public Options withCard(ModelCard card) {
            return new Options(opset, height, width, dynamicSize, card, metadata);
        }

        /** These options with further metadata entries (replacing earlier further entries). */
        public Options withMetadata(Map<String, String> metadata) {
            return new Options(opset, height, width, dynamicSize, card, metadata);
        }
    }

    /**
     * Writes {@code graph} (initialised) as an ONNX model at {@code path}, through a temporary file
     * beside it that is renamed into place, so {@code path} is the whole model or untouched. An
     * existing file at {@code path} is replaced.
     *
     * @throws UnsupportedOperationException naming the first vertex that has no ONNX mapping
     * @throws IllegalArgumentException      when the graph's input shape is unknown or not NCHW
     * @throws IOException                   when the file cannot be written
     */
    public static void write(ComputationGraph graph, Path path, Options options) throws IOException {
        Onnx.ModelProto model = model(graph, options);
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".pid" + ProcessHandle.current().pid() + "-",
                ".part");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                OutputStream stream = Channels.newOutputStream(channel);
                CodedOutputStream coded = CodedOutputStream.newInstance(stream, 1 << 16);
                model.writeTo(coded);
                coded.flush();
                channel.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The ONNX model of {@code graph} (initialised).
     *
     * @throws UnsupportedOperationException naming the first vertex that has no ONNX mapping
     * @throws IllegalArgumentException      when the graph's input shape is unknown or not NCHW, or the
     *                                       model would be too large for one protobuf message
     */
    public static Onnx.ModelProto model(ComputationGraph graph, Options options) {
        Objects.requireNonNull(graph, "graph");
        Objects.requireNonNull(options, "options");
        long bytes = graph.numParams() * Float.BYTES;
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("the graph's " + graph.numParams() + " parameters take " + bytes
                    + " bytes as float32; an ONNX file of over 2 GiB needs external data, which is not written");
        }
        GraphExporter.Input input = input(graph, options);
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder()
                .setIrVersion(irVersion(options.opset()))
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(options.opset()))
                .setProducerName(PRODUCER)
                .setProducerVersion(producerVersion())
                .setDocString("A DL4J ComputationGraph exported by " + PRODUCER + ": input '" + input.name()
                        + "' float32 [batch, " + input.channels() + ", height, width] (NCHW), outputs "
                        + graph.getConfiguration().getNetworkOutputs())
                .setGraph(GraphExporter.export(graph, input, "densenet"));
        metadata(options).forEach((k, v) -> m.addMetadataProps(
                Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /** The metadata_props of a model exported with {@code options}, in their order. */
    public static Map<String, String> metadata(Options options) {
        Map<String, String> props = new LinkedHashMap<>();
        ModelCard card = options.card();
        if (card != null) {
            props.put("preprocessing", card.preprocessing());
            props.put("transform", card.transform().toJson());
            props.put("input_size", card.inputHeight() + "x" + card.inputWidth() + "x" + card.inputChannels());
            if (!card.labels().isEmpty()) {
                try {
                    props.put("labels", JSON.writeValueAsString(card.labels()));
                } catch (IOException e) {
                    throw new IllegalStateException("cannot write the labels as JSON", e);
                }
            }
            card.source().forEach((k, v) -> props.put("source." + k, v));
        }
        props.putAll(options.metadata());
        return props;
    }

    /**
     * The IR version of the ONNX release that introduced {@code opset} (onnx/onnx docs/Versioning.md:
     * 1.8 and 1.9, opsets 13 and 14, IR 7; 1.10 to 1.13, opsets 15 to 18, IR 8).
     */
    static long irVersion(int opset) {
        return opset <= 14 ? 7 : 8;
    }

    /** A size that any graph the export maps takes, to learn its outputs' channels when the size is open. */
    private static final int PROBE_SIZE = 256;

    private static GraphExporter.Input input(ComputationGraph graph, Options options) {
        var conf = graph.getConfiguration();
        List<String> inputs = conf.getNetworkInputs();
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("the ONNX export takes graphs with one input, this one has "
                    + inputs.size() + " " + inputs);
        }
        String name = inputs.get(0);
        ModelCard card = options.card();
        long channels = inputChannels(graph, name);
        if (channels <= 0 && card != null) {
            channels = card.inputChannels();
        }
        if (channels <= 0) {
            throw new IllegalArgumentException("the graph's input '" + name + "' is not read by a convolution or "
                    + "batch norm whose input channels say its shape, and there is no model card to say it");
        }
        int h = options.height();
        int w = options.width();
        if (h == 0 && card != null) {
            h = card.inputHeight();
            w = card.inputWidth();
        }
        if (h <= 0 && !options.dynamicSize()) {
            throw new IllegalArgumentException("a DL4J graph does not record its input size, and neither the "
                    + "options nor a model card give one; give the size or leave it open (dynamic size)");
        }
        InputType probe = InputType.convolutional(h > 0 ? h : PROBE_SIZE, w > 0 ? w : PROBE_SIZE, channels);
        return options.dynamicSize() ? new GraphExporter.Input(name, channels, null, null, probe)
                : new GraphExporter.Input(name, channels, (long) h, (long) w, probe);
    }

    /** The input channels of the first layer reading {@code input} that says them, or 0. */
    private static long inputChannels(ComputationGraph graph, String input) {
        var conf = graph.getConfiguration();
        for (var e : conf.getVertexInputs().entrySet()) {
            if (e.getValue().contains(input) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv) {
                Layer layer = GraphExporter.unwrap(lv.getLayerConf().getLayer());
                if (layer instanceof ConvolutionLayer c) {
                    return c.getNIn();
                }
                if (layer instanceof BatchNormalization bn) {
                    return bn.getNIn();
                }
            }
        }
        return 0;
    }

    private static String producerVersion() {
        String v = OnnxExport.class.getPackage().getImplementationVersion();
        return v != null ? v : "development";
    }
}
