package org.densenet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.ModelFiles;

/** Resolves the {@code --model} option: a model zip, or a preset id. */
final class Models {

    private Models() {
    }

    /** Whether {@code spec} names a file rather than a preset. */
    static boolean isFile(String spec) {
        return spec.endsWith(".zip") || spec.contains("/") || Files.exists(Path.of(spec));
    }

    /** The preset named {@code id}, or a one-line error listing the known ones. */
    static DenseNetPreset preset(String id) {
        try {
            return DenseNetPreset.fromId(id);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /**
     * A ready graph: the model zip {@code spec}, or the pretrained model of preset {@code spec} from
     * the zoo cache.
     */
    static ComputationGraph load(String spec) throws IOException {
        if (isFile(spec)) {
            return ModelFiles.read(Path.of(spec), false);
        }
        DenseNetPreset preset = preset(spec);
        return DenseNetZooModel.of(preset).initPretrained(PretrainedType.IMAGENET);
    }

    /** Parses {@code HxWxC} (or {@code HxW}, 3 channels). */
    static int[] parseInput(String text) {
        String[] parts = text.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (parts.length == 2 || parts.length == 3) {
                int h = Integer.parseInt(parts[0].trim());
                int w = Integer.parseInt(parts[1].trim());
                int c = parts.length == 3 ? Integer.parseInt(parts[2].trim()) : 3;
                return new int[] {h, w, c};
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new UserError("--input '" + text + "' is not HxWxC, e.g. 224x224x3");
    }

    /** The preset's configuration with the classes and input shape asked for. */
    static DenseNetConfig configure(DenseNetPreset preset, Integer classes, String input) {
        DenseNetConfig.Builder b = preset.config().toBuilder();
        if (classes != null) {
            b.numClasses(classes);
        }
        if (input != null) {
            int[] hwc = parseInput(input);
            b.inputShape(hwc[0], hwc[1], hwc[2]);
        }
        return b.build();
    }
}
