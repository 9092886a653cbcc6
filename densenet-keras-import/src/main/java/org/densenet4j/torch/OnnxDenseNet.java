package org.densenet4j.torch;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import onnx.Onnx;
import org.densenet4j.keras.WeightImportException;
import org.nd4j.shade.protobuf.CodedInputStream;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

/**
 * Reads an ONNX DenseNet, as {@code torch.onnx.export} writes torchvision's or as DenseNet4J's
 * {@code OnnxExport} writes the zoo's, into the state_dict of the torchvision DenseNet it computes
 * ({@code features.conv0.weight}, {@code features.denseblock1.denselayer1.norm1.running_var}, ...),
 * which the importer then checks and loads as it loads any torchvision state_dict.
 *
 * <p>The graph is read by its structure, not by its names: from the output back to the input, the
 * classifier ({@code Gemm}, after {@code GlobalAveragePool} and {@code Flatten}; a {@code Softmax}
 * after it is allowed), or a headless graph's average-pooled features or final ReLU (read into the
 * weights of a headless graph, which pools by average); the final batch norm;
 * each dense block as the concatenation of its input and its layers' new features (one
 * {@code Concat} of all of them, as torchvision's, or a chain of two-input ones, as the zoo's), each
 * layer a {@code BatchNormalization}-{@code Relu}-{@code Conv} 1x1 (with its second batch norm, or
 * with that batch norm folded into the convolution's bias, as torch.onnx folds it)-{@code Relu}-
 * {@code Conv} 3x3; each transition a batch norm, ReLU, 1x1 convolution and 2x2/2 average pooling;
 * the ImageNet stem (7x7/2 convolution, its batch norm or the bias it was folded into, ReLU, 3x3/2
 * max pooling) or the CIFAR one (a 3x3 convolution). {@code Identity}, {@code Dropout} and
 * zero-padding {@code Pad} nodes pass their input on. Every attribute that changes what an
 * operator computes (strides, pads, kernel sizes, dilations, groups, ceil mode, Gemm's factors) is
 * checked against the DenseNet's. A folded batch norm comes back as one that computes
 * {@code x + bias}.
 *
 * <p>Reading is defensive: the file is read whole (at most 2 GiB) and parsed by protobuf from
 * bytes, so a length that claims more than the file holds fails at once; nodes must come in an
 * order where each reads only the graph's inputs, initializers and earlier nodes' outputs (no
 * cycles); operators outside the set above, other domains, tensors that are not float32 (or int64
 * for pads), tensors whose values are elsewhere (external data) and tensors whose dimensions claim
 * more values than they hold are refused, each with a message naming the node or tensor.
 */
public final class OnnxDenseNet {

    /** The largest file read: a protobuf message stops at 2 GiB. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    /** The opsets of the default domain read: the operators used keep their meaning across them. */
    static final int MIN_OPSET = 11;
    static final int MAX_OPSET = 22;
    private static final Set<String> OPERATORS = Set.of("Conv", "BatchNormalization", "Relu", "Concat", "MaxPool",
            "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Gemm", "Softmax", "Identity", "Dropout",
            "Pad", "Constant");
    private static final Set<String> PASS_THROUGH = Set.of("Identity", "Dropout", "Pad");

    /**
     * What an ONNX DenseNet holds.
     *
     * @param contents   its weights as a torchvision state_dict, with the file's metadata_props
     * @param bnEpsilon  the epsilon of its batch norms (one for all)
     * @param classes    the classifier's outputs, or 0 for a headless graph
     */
    public record Weights(TorchStateDict.Contents contents, double bnEpsilon, int classes) {
    }

    private final Path file;
    private final Onnx.GraphProto graph;
    private final Map<String, Onnx.TensorProto> initializers = new HashMap<>();
    private final Map<String, Onnx.NodeProto> producers = new HashMap<>();
    private final String input;
    private final Map<String, StateTensor> out = new LinkedHashMap<>();
    private Double epsilon;

    private OnnxDenseNet(Path file, Onnx.ModelProto model) throws WeightImportException {
        this.file = file;
        this.graph = model.getGraph();
        checkOpset(model);
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            if (initializers.put(t.getName(), t) != null) {
                throw fail("initializer '" + t.getName() + "' is stored twice");
            }
        }
        List<String> inputs = graph.getInputList().stream().map(Onnx.ValueInfoProto::getName)
                .filter(n -> !initializers.containsKey(n)).toList();
        if (inputs.size() != 1) {
            throw fail("the graph has " + inputs.size() + " inputs " + inputs + "; a DenseNet has one, the images");
        }
        input = inputs.get(0);
        for (Onnx.NodeProto n : graph.getNodeList()) {
            checkNode(n);
        }
    }

    /**
     * The DenseNet in ONNX file {@code file}.
     *
     * @throws WeightImportException naming the file and the node or tensor when the file cannot be
     *         read, is not an ONNX DenseNet, or holds something the reader refuses
     */
    public static Weights read(Path file) throws WeightImportException {
        if (!Files.isRegularFile(file)) {
            throw new WeightImportException(file, "no such file");
        }
        Onnx.ModelProto model;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new WeightImportException(file, "is " + size + " bytes; an ONNX file holds at most 2 GiB "
                        + "(larger models keep their weights as external data, which is not read)");
            }
            CodedInputStream in = CodedInputStream.newInstance(Files.readAllBytes(file));
            model = Onnx.ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new WeightImportException(file, "not a readable ONNX file (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new WeightImportException(file, "cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new WeightImportException(file, "not a readable ONNX file (" + e + ")", e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new WeightImportException(file, "not an ONNX model: it has no graph");
        }
        try {
            return new OnnxDenseNet(file, model).walk(model);
        } catch (RuntimeException | StackOverflowError e) {
            throw new WeightImportException(file, "not a readable ONNX DenseNet (" + e + ")", e);
        }
    }

    private void checkOpset(Onnx.ModelProto model) throws WeightImportException {
        long opset = -1;
        for (Onnx.OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                opset = o.getVersion();
            }
        }
        if (opset < MIN_OPSET || opset > MAX_OPSET) {
            throw fail(opset < 0 ? "imports no opset of the default ONNX domain"
                    : "uses opset " + opset + "; the reader takes opsets " + MIN_OPSET + " to " + MAX_OPSET);
        }
    }

    /** A node whose operator is known and which reads only values made before it. */
    private void checkNode(Onnx.NodeProto n) throws WeightImportException {
        String what = describe(n);
        if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
            throw fail(what + " is in domain '" + n.getDomain() + "'; a DenseNet uses the default domain only");
        }
        if (!OPERATORS.contains(n.getOpType())) {
            throw fail(what + " is an operator no DenseNet has; the reader takes " + String.join(", ",
                    new java.util.TreeSet<>(OPERATORS)));
        }
        for (String i : n.getInputList()) {
            if (!i.isEmpty() && !i.equals(input) && !initializers.containsKey(i) && !producers.containsKey(i)) {
                throw fail(what + " reads '" + i + "', which no earlier node, initializer or input makes");
            }
        }
        for (String o : n.getOutputList()) {
            if (o.isEmpty()) {
                continue;
            }
            if (o.equals(input) || initializers.containsKey(o) || producers.put(o, n) != null) {
                throw fail(what + " makes '" + o + "', which is made elsewhere too");
            }
        }
    }

    // --- the structure, from the output back -----------------------------------------------------

    /** One dense layer as read: its tensors by torchvision module (norm1, conv1, norm2, conv2). */
    private record DenseLayer(Map<String, Map<String, StateTensor>> modules) {
    }

    /** One dense block: its input value and its layers in order. */
    private record Block(String input, List<DenseLayer> layers) {
    }

    private Weights walk(Onnx.ModelProto model) throws WeightImportException {
        if (graph.getOutputCount() != 1) {
            throw fail("the graph has " + graph.getOutputCount() + " outputs; a DenseNet has one");
        }
        String v = through(graph.getOutput(0).getName());
        Onnx.NodeProto n = producers.get(v);
        Map<String, StateTensor> classifier = null;
        int classes = 0;
        if (is(n, "Softmax")) {
            long axis = intAttribute(n, "axis", -1);
            if (axis != 1 && axis != -1) {
                throw fail(describe(n) + " takes the softmax over axis " + axis + ", not over the classes");
            }
            v = through(n.getInput(0));
            n = producers.get(v);
            if (!is(n, "Gemm")) {
                throw fail(describe(n) + " is before the softmax; a DenseNet has its classifier (Gemm) there");
            }
        }
        if (is(n, "Gemm")) {
            classifier = gemm(n);
            classes = (int) classifier.get("weight").shape()[0];
            v = through(n.getInput(0));
            n = expect(v, "Flatten", "the classifier's input");
        }
        String finalRelu;
        if (is(n, "Flatten")) {
            if (intAttribute(n, "axis", 1) != 1) {
                throw fail(describe(n) + " flattens from axis " + intAttribute(n, "axis", 1) + ", not 1");
            }
            Onnx.NodeProto pool = producers.get(through(n.getInput(0)));
            if (is(pool, "GlobalMaxPool")) { // a state_dict cannot say so: the graph built would average
                throw fail(describe(pool) + " pools the features by their maximum; the import builds DenseNets "
                        + "that average them");
            }
            if (!is(pool, "GlobalAveragePool")) {
                throw fail(describe(pool) + " is where a DenseNet has its global average pooling");
            }
            finalRelu = through(pool.getInput(0));
        } else if (classifier == null) {
            finalRelu = v; // a headless graph's feature maps
        } else {
            throw fail(describe(n) + " is where a DenseNet has the flattening before its classifier");
        }
        Onnx.NodeProto relu = expect(finalRelu, "Relu", "the final ReLU");
        Onnx.NodeProto norm5 = expect(through(relu.getInput(0)), "BatchNormalization", "the final batch norm");
        Map<String, StateTensor> finalNorm = batchNorm(norm5);
        String features = through(norm5.getInput(0));

        List<Block> blocks = new ArrayList<>();
        List<Map<String, Map<String, StateTensor>>> transitions = new ArrayList<>();
        Map<String, Map<String, StateTensor>> stem;
        while (true) {
            Block block = denseBlock(features);
            blocks.add(0, block);
            Onnx.NodeProto below = producers.get(through(block.input()));
            if (is(below, "AveragePool")) {
                pool(below, 2, 2, 0, "a transition's average pooling");
                Onnx.NodeProto conv = expect(through(below.getInput(0)), "Conv", "a transition's convolution");
                Map<String, StateTensor> c = conv(conv, 1, 1, 0, false, "a transition's convolution");
                Onnx.NodeProto r = expect(through(conv.getInput(0)), "Relu", "a transition's ReLU");
                Onnx.NodeProto bn = expect(through(r.getInput(0)), "BatchNormalization", "a transition's batch norm");
                Map<String, Map<String, StateTensor>> t = new LinkedHashMap<>();
                t.put("norm", batchNorm(bn));
                t.put("conv", c);
                transitions.add(0, t);
                features = through(bn.getInput(0));
            } else {
                stem = stem(block.input());
                break;
            }
        }
        stem.forEach((m, t) -> emit("features." + m, t));
        for (int b = 0; b < blocks.size(); b++) {
            List<DenseLayer> layers = blocks.get(b).layers();
            for (int l = 0; l < layers.size(); l++) {
                String prefix = "features.denseblock" + (b + 1) + ".denselayer" + (l + 1) + ".";
                layers.get(l).modules().forEach((m, t) -> emit(prefix + m, t));
            }
            if (b < transitions.size()) {
                String prefix = "features.transition" + (b + 1) + ".";
                transitions.get(b).forEach((m, t) -> emit(prefix + m, t));
            }
        }
        emit("features.norm5", finalNorm);
        if (classifier != null) {
            emit("classifier", classifier);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        model.getMetadataPropsList().forEach(p -> metadata.put(p.getKey(), p.getValue()));
        return new Weights(new TorchStateDict.Contents(file, TorchStateDict.Format.ONNX,
                Collections.unmodifiableMap(out), Collections.unmodifiableMap(metadata)), epsilon, classes);
    }

    private void emit(String module, Map<String, StateTensor> tensors) {
        tensors.forEach((p, t) -> {
            String key = module + "." + p;
            out.put(key, new StateTensor(key, t.dtype(), t.shape(), t.values()));
        });
    }

    /** The dense block whose concatenated output is {@code output}: its input and its layers. */
    private Block denseBlock(String output) throws WeightImportException {
        List<String> parts = concatenated(output);
        if (parts.size() < 2) {
            throw fail("'" + output + "' is where a dense block ends, but it concatenates no layer's features");
        }
        List<DenseLayer> layers = new ArrayList<>();
        for (int i = 1; i < parts.size(); i++) {
            layers.add(denseLayer(parts.get(i), parts.subList(0, i)));
        }
        return new Block(parts.get(0), layers);
    }

    /** The layer making {@code made} (its 3x3 convolution's output), reading the concatenation of {@code reads}. */
    private DenseLayer denseLayer(String made, List<String> reads) throws WeightImportException {
        Map<String, Map<String, StateTensor>> m = new LinkedHashMap<>();
        Onnx.NodeProto conv2 = expect(made, "Conv", "a dense layer's 3x3 convolution");
        Map<String, StateTensor> c2 = conv(conv2, 3, 1, 1, false, "a dense layer's 3x3 convolution");
        Onnx.NodeProto relu2 = expect(through(conv2.getInput(0)), "Relu", "the ReLU before a 3x3 convolution");
        Onnx.NodeProto before = producers.get(through(relu2.getInput(0)));
        Onnx.NodeProto norm1;
        if (is(before, "Conv")) { // the bottleneck, its batch norm folded into its bias
            Map<String, StateTensor> c1 = conv(before, 1, 1, 0, true, "a dense layer's 1x1 convolution");
            StateTensor bias = c1.remove("bias");
            Onnx.NodeProto relu1 = expect(through(before.getInput(0)), "Relu", "the ReLU before a 1x1 convolution");
            norm1 = expect(through(relu1.getInput(0)), "BatchNormalization", "a dense layer's first batch norm");
            m.put("norm1", batchNorm(norm1));
            m.put("conv1", c1);
            m.put("norm2", identityNorm(bias));
        } else if (is(before, "BatchNormalization")) {
            Onnx.NodeProto under = producers.get(through(before.getInput(0)));
            // a bottleneck convolution reads a ReLU; the CIFAR stem's, a block's input too, reads the images
            if (is(under, "Conv") && is(producers.get(through(under.getInput(0))), "Relu")) {
                Map<String, StateTensor> c1 = conv(under, 1, 1, 0, false, "a dense layer's 1x1 convolution");
                Onnx.NodeProto relu1 = expect(through(under.getInput(0)), "Relu", "the ReLU before a 1x1 convolution");
                norm1 = expect(through(relu1.getInput(0)), "BatchNormalization", "a dense layer's first batch norm");
                m.put("norm1", batchNorm(norm1));
                m.put("conv1", c1);
                m.put("norm2", batchNorm(before));
            } else { // no bottleneck
                norm1 = before;
                m.put("norm2", batchNorm(norm1));
            }
        } else {
            throw fail(describe(before) + " is where a dense layer has its batch norm or 1x1 convolution");
        }
        m.put("conv2", c2);
        List<String> input = concatenated(through(norm1.getInput(0)));
        if (!input.equals(reads)) {
            throw fail(describe(norm1) + " reads " + input.size() + " concatenated feature maps where its dense "
                    + "layer should read the block's input and the " + (reads.size() - 1) + " layers before it");
        }
        return new DenseLayer(m); // without a bottleneck only norm2 and conv2, as the zoo's x2_bn and x2
    }

    /** The stem below {@code output}: its tensors by torchvision module. */
    private Map<String, Map<String, StateTensor>> stem(String output) throws WeightImportException {
        Map<String, Map<String, StateTensor>> m = new LinkedHashMap<>();
        Onnx.NodeProto n = producers.get(output);
        if (is(n, "MaxPool")) { // ImageNet: conv0, norm0 (or its bias), relu0, pool0
            pool(n, 3, 2, 1, "the stem's max pooling");
            Onnx.NodeProto relu = expect(through(n.getInput(0)), "Relu", "the stem's ReLU");
            Onnx.NodeProto under = producers.get(through(relu.getInput(0)));
            Onnx.NodeProto conv;
            Map<String, StateTensor> norm;
            if (is(under, "BatchNormalization")) {
                norm = batchNorm(under);
                conv = expect(through(under.getInput(0)), "Conv", "the stem's convolution");
                m.put("conv0", conv(conv, 7, 2, 3, false, "the stem's convolution"));
            } else {
                conv = expect(through(relu.getInput(0)), "Conv", "the stem's convolution");
                Map<String, StateTensor> c = conv(conv, 7, 2, 3, true, "the stem's convolution");
                norm = identityNorm(c.remove("bias"));
                m.put("conv0", c);
            }
            m.put("norm0", norm);
            if (!through(conv.getInput(0)).equals(input)) {
                throw fail(describe(conv) + " does not read the graph's input '" + input + "'");
            }
            return m;
        }
        if (is(n, "Conv") && through(n.getInput(0)).equals(input)) { // CIFAR: one 3x3 convolution
            m.put("conv0", conv(n, 3, 1, 1, false, "the stem's convolution"));
            return m;
        }
        throw fail(describe(n) + " is where a DenseNet has a transition's average pooling or its stem");
    }

    /** The values {@code value} concatenates along the channels, in order (itself when it is no concatenation). */
    private List<String> concatenated(String value) throws WeightImportException {
        List<String> parts = new ArrayList<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        todo.push(through(value));
        while (!todo.isEmpty()) {
            String v = todo.pop();
            Onnx.NodeProto n = producers.get(v);
            if (is(n, "Concat")) {
                if (intAttribute(n, "axis", Long.MIN_VALUE) != 1) {
                    throw fail(describe(n) + " concatenates along axis " + intAttribute(n, "axis", Long.MIN_VALUE)
                            + ", not the channels (1)");
                }
                for (int i = n.getInputCount() - 1; i >= 0; i--) {
                    todo.push(through(n.getInput(i)));
                }
            } else {
                parts.add(v);
            }
            if (parts.size() + todo.size() > graph.getNodeCount() + 1) {
                throw fail("'" + value + "' concatenates more feature maps than the graph has nodes");
            }
        }
        return parts;
    }

    /** {@code value} with the nodes that pass their input on (Identity, Dropout, zero Pad) skipped. */
    private String through(String value) throws WeightImportException {
        String v = value;
        for (int steps = 0; steps <= graph.getNodeCount(); steps++) {
            Onnx.NodeProto n = producers.get(v);
            if (n == null || !PASS_THROUGH.contains(n.getOpType())) {
                return v;
            }
            if (n.getOpType().equals("Pad")) {
                checkZeroPad(n);
            }
            if (n.getOpType().equals("Dropout") && n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                throw fail(describe(n) + " is told whether it trains by a graph value; a DenseNet's dropout does "
                        + "nothing at inference");
            }
            v = n.getInput(0);
        }
        throw fail("'" + value + "' passes through more nodes than the graph has");
    }

    /** A Pad that pads nothing (all pads 0), as torch.onnx writes before an average pooling. */
    private void checkZeroPad(Onnx.NodeProto n) throws WeightImportException {
        String mode = stringAttribute(n, "mode", "constant");
        long[] pads = n.getInputCount() > 1 && !n.getInput(1).isEmpty() ? longs(n.getInput(1), describe(n) + " pads")
                : ints(n, "pads");
        for (long p : pads) {
            if (p != 0) {
                throw fail(describe(n) + " pads by " + java.util.Arrays.toString(pads) + " (" + mode + "); a DenseNet "
                        + "pads only inside its convolutions and poolings");
            }
        }
    }

    // --- operators --------------------------------------------------------------------------------

    /** A convolution's weight (and bias, when it has one) after checking its geometry. */
    private Map<String, StateTensor> conv(Onnx.NodeProto n, int kernel, int stride, int pad, boolean biased,
                                          String role) throws WeightImportException {
        String what = describe(n) + " (" + role + ")";
        StateTensor w = floats(n, 1, "weight");
        long[] s = w.shape();
        if (s.length != 4 || s[2] != kernel || s[3] != kernel) {
            throw fail(what + ": weight '" + n.getInput(1) + "' has shape " + w.shapeText() + ", expected [out, in, "
                    + kernel + ", " + kernel + "]");
        }
        checkInts(n, what, "kernel_shape", kernel, kernel);
        checkInts(n, what, "strides", stride, stride);
        checkInts(n, what, "dilations", 1, 1);
        checkPads(n, what, pad);
        if (intAttribute(n, "group", 1) != 1) {
            throw fail(what + " is a grouped convolution (" + intAttribute(n, "group", 1) + " groups)");
        }
        Map<String, StateTensor> t = new LinkedHashMap<>();
        t.put("weight", w);
        boolean hasBias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
        if (hasBias != biased) {
            throw fail(what + (hasBias ? " has a bias, which a DenseNet's convolution there has not"
                    : " has no bias, and no batch norm follows it"));
        }
        if (hasBias) {
            StateTensor b = floats(n, 2, "bias");
            if (b.shape().length != 1 || b.shape()[0] != s[0]) {
                throw fail(what + ": bias '" + n.getInput(2) + "' has shape " + b.shapeText() + ", expected ["
                        + s[0] + "]");
            }
            t.put("bias", b);
        }
        return t;
    }

    private void pool(Onnx.NodeProto n, int kernel, int stride, int pad, String role) throws WeightImportException {
        String what = describe(n) + " (" + role + ")";
        if (attribute(n, "kernel_shape") == null) {
            throw fail(what + " has no kernel_shape");
        }
        checkInts(n, what, "kernel_shape", kernel, kernel);
        checkInts(n, what, "strides", stride, stride);
        checkInts(n, what, "dilations", 1, 1);
        checkPads(n, what, pad);
        if (intAttribute(n, "ceil_mode", 0) != 0) {
            throw fail(what + " rounds its output size up (ceil_mode); a DenseNet's rounds down");
        }
        if (intAttribute(n, "storage_order", 0) != 0 || n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
            throw fail(what + " also outputs its indices");
        }
    }

    /** A batch norm's four tensors, torchvision's names; its epsilon must be the graph's one epsilon. */
    private Map<String, StateTensor> batchNorm(Onnx.NodeProto n) throws WeightImportException {
        String what = describe(n);
        if (n.getInputCount() != 5) {
            throw fail(what + " has " + n.getInputCount() + " inputs, not 5 (x, scale, bias, mean, variance)");
        }
        if (intAttribute(n, "training_mode", 0) != 0 || n.getOutputCount() > 1
                && n.getOutputList().subList(1, n.getOutputCount()).stream().anyMatch(o -> !o.isEmpty())) {
            throw fail(what + " normalises with the batch's statistics (training mode)");
        }
        double eps = floatAttribute(n, "epsilon", 1e-5f);
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw fail(what + " has epsilon " + eps + ", not a positive number");
        }
        if (epsilon == null) {
            epsilon = eps;
        } else if (epsilon != eps) {
            throw fail(what + " has epsilon " + eps + " where the graph's other batch norms have " + epsilon
                    + "; a DenseNet has one");
        }
        Map<String, StateTensor> t = new LinkedHashMap<>();
        String[] names = {"weight", "bias", "running_mean", "running_var"};
        long channels = -1;
        for (int i = 0; i < names.length; i++) {
            StateTensor v = floats(n, i + 1, names[i]);
            if (v.shape().length != 1 || channels >= 0 && v.shape()[0] != channels) {
                throw fail(what + ": " + names[i] + " '" + n.getInput(i + 1) + "' has shape " + v.shapeText()
                        + ", expected [" + (channels >= 0 ? channels : "channels") + "]");
            }
            channels = v.shape()[0];
            t.put(names[i], v);
        }
        return t;
    }

    /** The batch norm that computes {@code x + bias}: what a batch norm folded into a convolution's bias is. */
    private Map<String, StateTensor> identityNorm(StateTensor bias) {
        int c = bias.values().length;
        double eps = epsilon != null ? epsilon : 1e-5;
        float[] gamma = new float[c];
        float[] mean = new float[c];
        float[] var = new float[c];
        java.util.Arrays.fill(gamma, (float) Math.sqrt(1 + eps)); // gamma * x / sqrt(1 + eps) = x
        java.util.Arrays.fill(var, 1f);
        long[] shape = {c};
        Map<String, StateTensor> t = new LinkedHashMap<>();
        t.put("weight", new StateTensor("weight", StateTensor.DType.F32, shape, gamma));
        t.put("bias", new StateTensor("bias", StateTensor.DType.F32, shape, bias.values()));
        t.put("running_mean", new StateTensor("running_mean", StateTensor.DType.F32, shape, mean));
        t.put("running_var", new StateTensor("running_var", StateTensor.DType.F32, shape, var));
        return t;
    }

    private Map<String, StateTensor> gemm(Onnx.NodeProto n) throws WeightImportException {
        String what = describe(n) + " (the classifier)";
        if (floatAttribute(n, "alpha", 1f) != 1f || floatAttribute(n, "beta", 1f) != 1f
                || intAttribute(n, "transA", 0) != 0) {
            throw fail(what + " scales or transposes its input (alpha, beta, transA); a dense layer does not");
        }
        StateTensor w = floats(n, 1, "weight");
        if (w.shape().length != 2) {
            throw fail(what + ": weight '" + n.getInput(1) + "' has shape " + w.shapeText()
                    + ", expected 2 dimensions");
        }
        if (intAttribute(n, "transB", 0) == 0) { // [in, out] stored; torchvision's Linear keeps [out, in]
            int in = (int) w.shape()[0];
            int outs = (int) w.shape()[1];
            float[] t = new float[w.values().length];
            for (int i = 0; i < in; i++) {
                for (int o = 0; o < outs; o++) {
                    t[o * in + i] = w.values()[i * outs + o];
                }
            }
            w = new StateTensor(w.key(), w.dtype(), new long[] {outs, in}, t);
        }
        Map<String, StateTensor> m = new LinkedHashMap<>();
        m.put("weight", w);
        if (n.getInputCount() < 3 || n.getInput(2).isEmpty()) {
            throw fail(what + " has no bias; a DenseNet's classifier has one");
        }
        StateTensor b = floats(n, 2, "bias");
        if (b.shape().length != 1 || b.shape()[0] != w.shape()[0]) {
            throw fail(what + ": bias '" + n.getInput(2) + "' has shape " + b.shapeText() + ", expected ["
                    + w.shape()[0] + "]");
        }
        m.put("bias", b);
        return m;
    }

    // --- attributes and tensors -------------------------------------------------------------------

    private void checkInts(Onnx.NodeProto n, String what, String name, long... expected) throws WeightImportException {
        Onnx.AttributeProto a = attribute(n, name);
        if (a != null && !java.util.Arrays.equals(a.getIntsList().stream().mapToLong(Long::longValue).toArray(),
                expected)) {
            throw fail(what + " has " + name + " " + a.getIntsList() + ", expected "
                    + java.util.Arrays.toString(expected));
        }
        if (a == null && name.equals("strides") && expected[0] != 1) {
            throw fail(what + " has no strides (1), expected " + java.util.Arrays.toString(expected));
        }
    }

    private void checkPads(Onnx.NodeProto n, String what, int pad) throws WeightImportException {
        String autoPad = stringAttribute(n, "auto_pad", "NOTSET");
        if (!autoPad.equals("NOTSET")) {
            throw fail(what + " pads automatically (auto_pad " + autoPad + "); expected explicit pads of " + pad);
        }
        Onnx.AttributeProto a = attribute(n, "pads");
        long[] pads = a == null ? new long[4] : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
        if (!java.util.Arrays.equals(pads, new long[] {pad, pad, pad, pad})) {
            throw fail(what + " has pads " + java.util.Arrays.toString(pads) + ", expected [" + pad + ", " + pad
                    + ", " + pad + ", " + pad + "]");
        }
    }

    private static Onnx.AttributeProto attribute(Onnx.NodeProto n, String name) {
        Onnx.AttributeProto found = null;
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                found = a;
            }
        }
        return found;
    }

    private long intAttribute(Onnx.NodeProto n, String name, long otherwise) throws WeightImportException {
        Onnx.AttributeProto a = attribute(n, name);
        if (a == null) {
            return otherwise;
        }
        if (a.getType() != Onnx.AttributeProto.AttributeType.INT) {
            throw fail(describe(n) + " has attribute " + name + " of type " + a.getType() + ", not INT");
        }
        return a.getI();
    }

    private double floatAttribute(Onnx.NodeProto n, String name, float otherwise) throws WeightImportException {
        Onnx.AttributeProto a = attribute(n, name);
        if (a == null) {
            return otherwise;
        }
        if (a.getType() != Onnx.AttributeProto.AttributeType.FLOAT) {
            throw fail(describe(n) + " has attribute " + name + " of type " + a.getType() + ", not FLOAT");
        }
        return a.getF();
    }

    private String stringAttribute(Onnx.NodeProto n, String name, String otherwise) throws WeightImportException {
        Onnx.AttributeProto a = attribute(n, name);
        if (a == null) {
            return otherwise;
        }
        if (a.getType() != Onnx.AttributeProto.AttributeType.STRING) {
            throw fail(describe(n) + " has attribute " + name + " of type " + a.getType() + ", not STRING");
        }
        return a.getS().toStringUtf8();
    }

    private long[] ints(Onnx.NodeProto n, String name) {
        Onnx.AttributeProto a = attribute(n, name);
        return a == null ? new long[0] : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** Input {@code index} of {@code n}: a float32 initializer (or a Constant's value), read whole. */
    private StateTensor floats(Onnx.NodeProto n, int index, String name) throws WeightImportException {
        String value = n.getInput(index);
        Onnx.TensorProto t = constant(through(value), describe(n) + " " + name);
        String what = "tensor '" + t.getName() + "' (" + describe(n) + " " + name + ")";
        if (t.getDataType() != Onnx.TensorProto.DataType.FLOAT_VALUE) {
            throw fail(what + " holds " + dataType(t.getDataType()) + " values; the reader takes float32 weights");
        }
        long[] shape = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = StateTensor.count(shape, TorchStateDict.MAX_TENSOR_VALUES);
        if (count < 0) {
            throw fail(what + " claims dimensions " + java.util.Arrays.toString(shape) + ": more than "
                    + TorchStateDict.MAX_TENSOR_VALUES + " values, or a negative dimension");
        }
        float[] values = new float[(int) count];
        if (t.getRawData().size() > 0) {
            if (t.getRawData().size() != count * Float.BYTES) {
                throw fail(what + " holds " + t.getRawData().size() + " bytes of raw data for " + count + " values");
            }
            ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        } else if (t.getFloatDataCount() != count) {
            throw fail(what + " holds " + t.getFloatDataCount() + " values for dimensions "
                    + java.util.Arrays.toString(shape));
        } else {
            for (int i = 0; i < values.length; i++) {
                values[i] = t.getFloatData(i);
            }
        }
        return new StateTensor(name, StateTensor.DType.F32, shape, values);
    }

    /** The int64 values of a tensor value (an initializer or a Constant's). */
    private long[] longs(String value, String role) throws WeightImportException {
        Onnx.TensorProto t = constant(through(value), role);
        String what = "tensor '" + t.getName() + "' (" + role + ")";
        if (t.getDataType() != Onnx.TensorProto.DataType.INT64_VALUE) {
            throw fail(what + " holds " + dataType(t.getDataType()) + " values, not int64");
        }
        long count = StateTensor.count(t.getDimsList().stream().mapToLong(Long::longValue).toArray(), 64);
        if (count < 0) {
            throw fail(what + " claims more than 64 values");
        }
        if (t.getRawData().size() > 0) {
            if (t.getRawData().size() != count * Long.BYTES) {
                throw fail(what + " holds " + t.getRawData().size() + " bytes of raw data for " + count + " values");
            }
            long[] v = new long[(int) count];
            ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
            return v;
        }
        if (t.getInt64DataCount() != count) {
            throw fail(what + " holds " + t.getInt64DataCount() + " values for " + count);
        }
        return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
    }

    /** The tensor behind {@code value}: an initializer, or a Constant node's value; never external data. */
    private Onnx.TensorProto constant(String value, String role) throws WeightImportException {
        Onnx.TensorProto t = initializers.get(value);
        Onnx.NodeProto n = producers.get(value);
        if (t == null && is(n, "Constant")) {
            Onnx.AttributeProto a = attribute(n, "value");
            if (a == null || a.getType() != Onnx.AttributeProto.AttributeType.TENSOR) {
                throw fail(describe(n) + " holds no tensor value (its value_* attributes are not read)");
            }
            t = a.getT().toBuilder().setName(value).build();
        }
        if (t == null) {
            throw fail(role + " '" + value + "' is computed by the graph (" + describe(n) + "); a DenseNet's "
                    + "weights are stored tensors");
        }
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            String location = t.getExternalDataList().stream().filter(e -> e.getKey().equals("location"))
                    .map(Onnx.StringStringEntryProto::getValue).findFirst().orElse("?");
            throw fail("tensor '" + t.getName() + "' keeps its values in an external file ('" + location + "'); "
                    + "the reader takes ONNX files that hold their weights (save the model without external data, "
                    + "e.g. onnx.save_model(model, path, save_as_external_data=False))");
        }
        if (t.hasSegment()) {
            throw fail("tensor '" + t.getName() + "' is one segment of a larger tensor, which is not read");
        }
        return t;
    }

    private static String dataType(int type) {
        Onnx.TensorProto.DataType d = Onnx.TensorProto.DataType.forNumber(type);
        return d == null ? "type " + type : d.name().toLowerCase(java.util.Locale.ROOT);
    }

    private Onnx.NodeProto expect(String value, String op, String role) throws WeightImportException {
        Onnx.NodeProto n = producers.get(value);
        if (!is(n, op)) {
            String found = n != null ? describe(n)
                    : "'" + value + "' (" + (value.equals(input) ? "the graph's input" : "a stored tensor") + ")";
            throw fail(found + " is where a DenseNet has " + role + " (" + op + ")");
        }
        return n;
    }

    private static boolean is(Onnx.NodeProto n, String op) {
        return n != null && n.getOpType().equals(op);
    }

    private String describe(Onnx.NodeProto n) {
        if (n == null) {
            return "the graph's input or a stored tensor";
        }
        String name = n.getName().isEmpty() ? (n.getOutputCount() > 0 ? n.getOutput(0) : "?") : n.getName();
        return "node '" + name + "' (" + n.getOpType() + ")";
    }

    private WeightImportException fail(String message) {
        return new WeightImportException(file, message);
    }
}
