package org.densenet4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightFileSummary;
import org.densenet4j.keras.WeightLayout;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.io.ModelFiles;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet convert}: a Keras, PyTorch or ONNX weight file to a DL4J model zip. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Convert a DenseNet weight file into a DL4J model zip: Keras (.h5: the original Keras "
                + "port's Caffe-converted files, keras.applications'), PyTorch (torchvision/timm state_dicts: "
                + ".pth, .pt, .safetensors) or "
                + "ONNX (.onnx: a DenseNet as torch.onnx exports torchvision's, or as densenet export writes it).",
                "The zip records how the weights' publisher makes images into their input (resize, crop, "
                        + "normalisation), the input size, labels and source, which predict, features and "
                        + "finetune then use."})
final class ConvertCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true,
            description = "The weight file (.h5, .pth, .pt, .safetensors, .onnx).")
    Path weights;

    @Option(names = "--model",
            description = "Preset the file must be, e.g. densenet121 (default: what the file holds).")
    String model;

    @Option(names = "--layout", description = "keras1-tf, keras1-th, keras2 or torchvision (default: detected).")
    String layout;

    static final class Target {
        @Option(names = "--out", required = true, description = "The model zip to write.")
        Path out;

        @Option(names = "--install", required = true,
                description = "Write into the DL4J zoo cache, where initPretrained() finds it.")
        boolean install;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--force", description = "Replace an existing model zip.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        Progress progress = new Progress(spec.commandLine().getOut(), "converting", 3);
        WeightLayout forced = layout == null ? null : parseLayout(layout);
        WeightFileSummary summary = KerasDenseNetImporter.inspect(weights);
        progress.update(1, "read " + weights.getFileName() + ": " + summary.describe());
        DenseNetPreset preset = model != null ? Models.preset(model) : summary.preset().orElse(null);
        DenseNetConfig config;
        if (preset != null) {
            DenseNetConfig.Builder b = preset.config().toBuilder();
            summary.classes().ifPresentOrElse(b::numClasses, () -> b.headless(DenseNetConfig.Pooling.AVG));
            config = b.build();
        } else {
            config = summary.toConfig().build();
        }
        ComputationGraph graph = KerasDenseNetImporter.load(weights, config, forced);
        progress.update(2, "imported " + graph.numParams() + " parameters; writing");

        Path out;
        if (target.install) {
            if (preset == null) {
                throw new UserError(weights + ": holds " + summary.describe()
                        + ", which is no preset; --install needs one (use --out instead)");
            }
            out = ModelFiles.cachedModel(preset.id(), PretrainedType.IMAGENET);
        } else {
            out = target.out;
        }
        WeightLayout used = forced != null ? forced : summary.layout();
        ModelFiles.write(graph, out, force || target.install, null, java.util.Map.of(), false,
                KerasDenseNetImporter.card(weights, used, config));
        progress.done("written and read back");
        var o = spec.commandLine().getOut();
        o.printf("Converted %s (%s, %s, %s) to %s in %.1f s%n", weights,
                forced != null ? forced.id() : summary.layout().id(), summary.describe(),
                summary.classes().isPresent() ? summary.classes().getAsInt() + " classes" : "no classifier",
                out, (System.nanoTime() - start) / 1e9);
        o.println("sha256 " + ModelFiles.sha256(out));
        return 0;
    }

    private static WeightLayout parseLayout(String id) {
        try {
            return WeightLayout.fromId(id);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }
}
