package org.densenet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.onnx.OnnxExport;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet export}: a model as an ONNX file, for ONNX Runtime and the other ONNX tools. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a model as an ONNX file: float32 input 'data' [batch, C, H, W] (NCHW), output 'fc6' "
                + "(the class probabilities) or the headless graph's features, batch norms as BatchNormalization, "
                + "the model's preprocessing, input size and class names in the file's metadata.",
                "A preset id exports its pretrained model from the zoo cache; with --untrained, its architecture "
                        + "with fresh weights (any preset, classes, input size or head)."})
final class ExportCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true,
            description = "A model zip, a preset id (its pretrained model in the zoo cache), or with --untrained a "
                    + "preset id or a JSON file of DenseNet settings.")
    String model;

    @Option(names = "--format", defaultValue = "onnx", description = "The file format; onnx (default).")
    String format;

    @Option(names = "--out", required = true, description = "The file to write, e.g. net.onnx.")
    Path out;

    @Option(names = "--opset", defaultValue = "" + OnnxExport.MIN_OPSET,
            description = "ONNX opset, " + OnnxExport.MIN_OPSET + " to " + OnnxExport.MAX_OPSET
                    + " (default: ${DEFAULT-VALUE}).")
    int opset;

    @Option(names = "--dynamic-size", description = "Leave the input height and width open (the file then takes "
            + "any image size the model takes) instead of fixing them at the model's input size.")
    boolean dynamicSize;

    @Option(names = "--untrained", description = "Export the architecture with freshly initialised weights "
            + "instead of a trained model.")
    boolean untrained;

    @Option(names = "--classes", description = "With --untrained: classes of fc6 (default: the preset's).")
    Integer classes;

    @Option(names = "--input", description = "With --untrained: input HxWxC (default: the preset's).")
    String input;

    @Option(names = "--headless", description = "With --untrained: no fc6; end in avg or max pooled features, or "
            + "none (the final feature maps).")
    String headless;

    @Option(names = "--seed", description = "With --untrained: seed of the weight initialisation (default: the "
            + "preset's).")
    Long seed;

    @Option(names = "--force", description = "Replace an existing file.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        if (!format.toLowerCase(Locale.ROOT).equals("onnx")) {
            throw new UserError("--format " + format + " is not written; the one export format is onnx");
        }
        if (opset < OnnxExport.MIN_OPSET || opset > OnnxExport.MAX_OPSET) {
            throw new UserError("--opset " + opset + " is not written; use " + OnnxExport.MIN_OPSET + " to "
                    + OnnxExport.MAX_OPSET);
        }
        if (!untrained && (classes != null || input != null || headless != null || seed != null)) {
            throw new UserError("--classes, --input, --headless and --seed change the architecture; "
                    + "use them with --untrained");
        }
        if (Files.exists(out) && !force) {
            throw new UserError(out + ": exists; pass --force to replace it");
        }
        ComputationGraph net;
        String what;
        OnnxExport.Options options = OnnxExport.Options.defaults().withOpset(opset).withDynamicSize(dynamicSize);
        if (untrained) {
            DenseNetConfig config = untrainedConfig();
            net = new DenseNetZooModel(model, config).init();
            what = model + " (untrained, seed " + config.training().seed() + ")";
            options = options.withInputSize(config.inputHeight(), config.inputWidth())
                    .withMetadata(Map.of("weights", "untrained: initialised with seed " + config.training().seed()));
        } else {
            if (!ImageModel.isFile(model) && DenseNetPreset.fromId(model).pretrainedType().isEmpty()) {
                throw new UserError("No pretrained weights are published for " + model + "; export its "
                        + "architecture with --untrained");
            }
            ImageModel loaded = Models.load(model);
            net = loaded.net();
            what = model;
            options = trainedOptions(loaded, options);
        }
        try {
            OnnxExport.write(net, out, options);
        } catch (UnsupportedOperationException e) {
            throw new UserError(model + ": " + e.getMessage());
        }
        var o = spec.commandLine().getOut();
        var conf = net.getConfiguration();
        o.printf("Exported %s as ONNX (opset %d, input '%s' [batch, %s], outputs %s) to %s: %,d bytes in %.1f s%n",
                what, opset, conf.getNetworkInputs().get(0), size(options, net), conf.getNetworkOutputs(), out,
                Files.size(out), (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** The card of a trained model (its labels filled in where the card has none), its preprocessing spelled out. */
    private static OnnxExport.Options trainedOptions(ImageModel loaded, OnnxExport.Options options) throws Exception {
        long classes = outputs(loaded.net());
        List<String> labels = classes > 0 ? loaded.labels(classes) : null;
        Map<String, String> extra = new LinkedHashMap<>();
        ModelCard card = loaded.card();
        if (card != null && card.labels().isEmpty() && labels != null) {
            card = new ModelCard(card.preprocessing(), card.inputHeight(), card.inputWidth(), card.inputChannels(),
                    labels, card.source()).withArchitecture(card.architecture());
        } else if (card == null && labels != null) {
            extra.put("labels", new org.nd4j.shade.jackson.databind.ObjectMapper().writeValueAsString(labels));
        }
        extra.putAll(loaded.preprocessingProperties());
        int[] hw = loaded.defaultSize();
        return options.withCard(card).withInputSize(hw[0], hw[1]).withMetadata(extra);
    }

    /** The classes of the model's classifier, or 0 for a headless model. */
    private static long outputs(ComputationGraph net) {
        var layer = net.getConfiguration().getVertices().get(org.densenet4j.zoo.DenseNetBuilder.CLASSIFIER);
        return layer == null ? 0 : net.getLayer(org.densenet4j.zoo.DenseNetBuilder.CLASSIFIER).getParam("W").size(1);
    }

    private DenseNetConfig untrainedConfig() throws Exception {
        Architecture architecture = Models.architecture(model);
        DenseNetConfig.Builder b = architecture.config();
        if (classes != null) {
            b.numClasses(classes);
        }
        if (input != null) {
            int[] hwc = Models.parseInput(input);
            b.inputShape(hwc[0], hwc[1], hwc[2]);
        }
        if (headless != null) {
            try {
                b.headless(DenseNetConfig.Pooling.valueOf(headless.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new UserError("--headless " + headless + " is not avg, max or none");
            }
        }
        if (seed != null) {
            b.seed(seed);
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UserError(model + ": " + e.getMessage());
        }
    }

    private static String size(OnnxExport.Options options, ComputationGraph net) {
        long c = ImageModel.inputChannels(net);
        return c + ", " + (options.dynamicSize() ? "height, width" : options.height() + ", " + options.width());
    }
}
