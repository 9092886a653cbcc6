package org.densenet4j.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * A PyTorch reference written by {@code tools/fixtures/make_zoo_fixtures.py} (Debian's
 * python3-torch and python3-numpy): the network written in PyTorch after its publisher's code, with
 * random calibrated weights, its input, its log-probabilities in eval mode, its parameter counts and
 * every module's output shape. Made once per clean build into {@code target/fixtures/zoo}.
 *
 * @param dir  the fixture's directory
 * @param meta its meta.json
 */
public record TorchReference(Path dir, JsonNode meta) {

    private static final Path REPO = findRepo();
    private static final Path DIR = REPO.resolve("target/fixtures/zoo");

    /** The reference of {@code arch} for a batch of {@code batch} inputs of {@code height x width}, made if missing. */
    public static TorchReference of(String arch, int height, int width, int batch) throws IOException {
        return of(arch, height, width, batch, false);
    }

    /**
     * The same with a training step's gradients ({@link #assertGradients}); every batch norm needs
     * more than one value per channel (PyTorch refuses a batch of one at a 1x1 bottleneck).
     */
    public static TorchReference withGradients(String arch, int height, int width, int batch) throws IOException {
        return of(arch, height, width, batch, true);
    }

    private static synchronized TorchReference of(String arch, int height, int width, int batch, boolean gradients)
            throws IOException {
        Path dir = DIR.resolve(arch + "-" + height + "x" + width + "-b" + batch + (gradients ? "-grad" : ""));
        Path meta = dir.resolve("meta.json");
        if (!Files.exists(meta)) {
            List<String> args = new ArrayList<>(List.of(REPO.resolve("tools/fixtures/make_zoo_fixtures.py").toString(),
                    "--arch", arch, "--height", Integer.toString(height), "--width", Integer.toString(width),
                    "--batch", Integer.toString(batch), "--out", dir.toString()));
            if (gradients) {
                args.add("--gradients");
            }
            run(args.toArray(String[]::new));
        }
        return new TorchReference(dir, new ObjectMapper().readTree(meta.toFile()));
    }

    /** The NCHW input. */
    public INDArray input() {
        return Nd4j.createFromNpyFile(dir.resolve("x.npy").toFile());
    }

    /** PyTorch's log-probabilities: [N, classes], or [N, classes, H, W] per pixel. */
    public INDArray logProbabilities() {
        return Nd4j.createFromNpyFile(dir.resolve("logp.npy").toFile());
    }

    /** PyTorch's parameter count: {@code sum(p.numel() for p in model.parameters())}. */
    public long trainableParameters() {
        return meta.get("trainable_parameters").asLong();
    }

    /** The values of the BN running means and variances, which DL4J counts as parameters too. */
    public long bnStatistics() {
        return meta.get("bn_statistics").asLong();
    }

    /**
     * Copies the PyTorch parameters into {@code graph}, whose layers have the PyTorch modules' names:
     * convolutions' and transposed convolutions' {@code weight} as they are (DL4J holds both in
     * PyTorch's layout), dense layers' transposed, BN's {@code weight, bias, running_mean,
     * running_var} as {@code gamma, beta, mean, var}. Fails unless every parameter of either side
     * is matched, in the same shape.
     */
    public void loadInto(ComputationGraph graph) throws IOException {
        Set<String> filled = new HashSet<>();
        for (Path f : npyFiles("params")) {
            Dl4jParameter p = Dl4jParameter.of(graph, f);
            INDArray target = graph.getLayer(p.layer()).getParam(p.name());
            assertTrue(target != null, f + ": layer '" + p.layer() + "' has no parameter " + p.name());
            INDArray value = p.read(f);
            if (p.name().equals("W")) {
                assertArrayEquals(value.shape(), target.shape(), f + ": shape of " + p.key());
            } else {
                assertEquals(value.length(), target.length(), f + ": length of " + p.key());
            }
            target.assign(value.reshape(target.shape()));
            filled.add(p.key());
        }
        assertEquals(graph.paramTable().keySet(), filled, "every DL4J parameter comes from PyTorch");
    }

    /**
     * Asserts that one training step of {@code graph} (holding this reference's parameters, in
     * training mode without dropout) on the reference's input and labels has PyTorch's score, and
     * gradients as close to PyTorch's float64 ones as float32 arithmetic allows: for each parameter,
     * {@code ||dl4j - torch64|| / ||torch64||} (the scale floored at a thousandth of the largest
     * gradient norm: a gradient that is zero in exact arithmetic, a convolution's bias before a batch
     * norm, is rounding noise) is at most {@code tolerance}, or four times what PyTorch's own float32
     * step has, if more (batch norms over few values and max poolings whose inputs nearly tie make
     * float32 rounding grow). DL4J's output layers differentiate the loss summed over the examples
     * and report that sum divided by the batch size.
     *
     * @return the largest ratio of DL4J's difference to the one allowed
     */
    public double assertGradients(ComputationGraph graph, double tolerance) throws IOException {
        JsonNode reference = new ObjectMapper().readTree(dir.resolve("gradients.json").toFile());
        graph.setInputs(input());
        graph.setLabels(Nd4j.createFromNpyFile(dir.resolve("y.npy").toFile()));
        graph.computeGradientAndScore();
        double score = reference.get("score").asDouble();
        assertEquals(score, graph.score(), tolerance * Math.abs(score), "score");
        Map<String, INDArray> gradients = graph.gradient().gradientForVariable();
        Map<String, INDArray[]> pairs = new java.util.TreeMap<>();
        Map<String, Double> float32Error = new java.util.HashMap<>();
        for (Path f : npyFiles("grads")) {
            Dl4jParameter p = Dl4jParameter.of(graph, f);
            INDArray expected = p.read(f);
            INDArray actual = gradients.get(p.key());
            assertTrue(actual != null, "DL4J has no gradient for " + p.key());
            assertEquals(expected.length(), actual.length(), "length of the gradient of " + p.key());
            pairs.put(p.key(), new INDArray[] {expected.dup('c').reshape(expected.length()),
                    actual.castTo(DataType.DOUBLE).dup('c').reshape(expected.length())});
            String torchKey = f.getFileName().toString().replaceAll("\\.npy$", "");
            float32Error.put(p.key(), reference.get("float32_error").get(torchKey).asDouble());
        }
        double largest = pairs.values().stream().mapToDouble(p -> p[0].norm2Number().doubleValue()).max().orElse(0);
        double worst = 0;
        String worstMessage = null;
        for (Map.Entry<String, INDArray[]> pair : pairs.entrySet()) {
            INDArray e = pair.getValue()[0];
            double scale = Math.max(e.norm2Number().doubleValue(), 1e-3 * largest);
            double diff = e.sub(pair.getValue()[1]).norm2Number().doubleValue() / scale;
            double allowed = Math.max(tolerance, 4 * float32Error.get(pair.getKey()));
            if (diff / allowed > worst) {
                worst = diff / allowed;
                worstMessage = String.format("gradient of %s: relative difference %.2e, allowed %.2e (PyTorch's "
                        + "float32 step: %.2e)", pair.getKey(), diff, allowed, float32Error.get(pair.getKey()));
            }
        }
        final String message = worstMessage;
        assertTrue(worst <= 1, () -> message);
        Set<String> expectedKeys = new HashSet<>(gradients.keySet());
        expectedKeys.removeIf(k -> k.endsWith("_mean") || k.endsWith("_var")); // moving averages, no gradients
        assertEquals(expectedKeys, pairs.keySet(), "every DL4J gradient compared with PyTorch's");
        System.out.println("closest to the allowed difference: " + message);
        return worst;
    }

    private List<Path> npyFiles(String folder) throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve(folder))) {
            return s.filter(f -> f.toString().endsWith(".npy")).sorted().toList();
        }
    }

    /**
     * Where a PyTorch parameter file ({@code <module>.<name>.npy}) goes in a DL4J graph: the layer
     * of the module's name, the parameter of DL4J's name for it.
     *
     * @param layer      the layer's name
     * @param name       DL4J's name of the parameter ({@code W}, {@code b}, {@code gamma}, ...)
     * @param transposed whether DL4J holds it transposed (a dense layer's weights)
     */
    private record Dl4jParameter(String layer, String name, boolean transposed) {
        static Dl4jParameter of(ComputationGraph graph, Path file) {
            String key = file.getFileName().toString().replaceAll("\\.npy$", "");
            int dot = key.lastIndexOf('.');
            String layer = key.substring(0, dot);
            String torchName = key.substring(dot + 1);
            var conf = graph.getLayer(layer).conf().getLayer();
            if (conf instanceof BatchNormalization) {
                return new Dl4jParameter(layer, Map.of("weight", "gamma", "bias", "beta", "running_mean", "mean",
                        "running_var", "var").get(torchName), false);
            }
            boolean dense = conf instanceof DenseLayer || conf instanceof BaseOutputLayer;
            String name = Map.of("weight", "W", "bias", "b").get(torchName);
            return new Dl4jParameter(layer, name, dense && name.equals("W"));
        }

        /** DL4J's key of the parameter in the graph's tables. */
        String key() {
            return layer + "_" + name;
        }

        /** The file's values in DL4J's layout, in double precision. */
        INDArray read(Path file) {
            INDArray value = Nd4j.createFromNpyFile(file.toFile()).castTo(DataType.DOUBLE);
            return transposed ? value.transpose().dup('c') : value;
        }
    }

    /**
     * Asserts that every module output PyTorch recorded has the shape DL4J infers for the vertex of
     * the same name at the reference's input size.
     */
    public void assertShapes(ComputationGraphConfiguration conf) {
        Map<String, InputType> types = conf.getLayerActivationTypes(InputType.convolutional(
                meta.get("height").asLong(), meta.get("width").asLong(), meta.get("channels").asLong()));
        List<String> names = new ArrayList<>();
        meta.get("shapes").fieldNames().forEachRemaining(names::add);
        for (String name : names) {
            List<Long> torch = new ArrayList<>();
            meta.get("shapes").get(name).forEach(n -> torch.add(n.asLong()));
            InputType type = types.get(name);
            assertTrue(type != null, "DL4J has no vertex '" + name + "'");
            List<Long> dl4j = type instanceof InputType.InputTypeConvolutional c
                    ? List.of(c.getChannels(), c.getHeight(), c.getWidth())
                    : List.of(((InputType.InputTypeFeedForward) type).getSize());
            assertEquals(torch, dl4j, "shape of '" + name + "'");
        }
    }

    /** max |log p - PyTorch's log p| over the batch (and pixels), asserting the shapes and arg-max classes agree. */
    public double maxLogProbabilityDifference(INDArray probabilities) {
        INDArray expected = logProbabilities();
        INDArray logp = Transforms.log(probabilities.castTo(DataType.FLOAT), true);
        assertArrayEquals(expected.shape(), logp.shape(), "output shape");
        assertEquals(expected.argMax(1), logp.argMax(1), "arg-max classes");
        return Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
    }

    private static void run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        String env = System.getenv("DENSENET_PYTHON");
        cmd.add(env != null && !env.isBlank() ? env
                : Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3");
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile("fixture", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("fixture script timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IOException("fixture script failed (" + cmd + "):\n"
                        + Files.readString(log, StandardCharsets.UTF_8)
                        + "\nThe golden tests need Debian's python3-torch and python3-numpy, or DENSENET_PYTHON "
                        + "naming a Python that has torch and numpy.");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making fixtures", e);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static Path findRepo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("tools/fixtures/make_zoo_fixtures.py"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find tools/fixtures/make_zoo_fixtures.py above "
                    + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
