package org.densenet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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
            ComputationGraph net = ModelFiles.read(Path.of(spec), false);
            var vertices = net.getConfiguration().getVertices();
            boolean denseNet = vertices.containsKey("conv1")
                    && vertices.keySet().stream().anyMatch(v -> v.startsWith("concat_"));
            if (!denseNet) {
                throw new UserError(spec + ": a DL4J model, but not a DenseNet (it has no conv1 and concat_* layers); "
                        + "convert one with 'densenet convert' or train one with 'densenet train'");
            }
            return net;
        }
        DenseNetPreset preset = preset(spec);
        return DenseNetZooModel.of(preset).initPretrained(PretrainedType.IMAGENET);
    }

    /**
     * The class names stored with a model zip trained or fine-tuned here, or the ImageNet names for
     * a 1000-class model, or null (classes are then printed by index).
     */
    static List<String> labels(String spec, long classes) {
        if (isFile(spec)) {
            try {
                List<String> stored = org.deeplearning4j.util.ModelSerializer.getObjectFromFile(Path.of(spec).toFile(), "labels");
                if (stored != null && stored.size() == classes) {
                    return stored;
                }
            } catch (RuntimeException e) {
                // no labels stored: fall through
            }
        }
        return classes == 1000 ? org.densenet4j.preprocess.ImageNetLabels.imageNet() : null;
    }

    /** The input normalisation stored with a model zip trained here, or null. */
    static org.nd4j.linalg.dataset.api.preprocessor.DataNormalization normalizer(String spec) {
        if (!isFile(spec)) {
            return null;
        }
        try {
            return org.deeplearning4j.util.ModelSerializer.restoreNormalizerFromFile(Path.of(spec).toFile());
        } catch (RuntimeException | IOException e) {
            return null;
        }
    }

    /** An architecture named on the command line: its display name and its settings, to be completed. */
    record Architecture(String name, DenseNetConfig.Builder config) {
    }

    /** The preset {@code spec}, or the JSON settings file {@code spec} (ending in {@code .json}). */
    static Architecture architecture(String spec) throws IOException {
        if (spec.endsWith(".json")) {
            Path file = Path.of(spec);
            if (!Files.isRegularFile(file)) {
                throw new UserError(file + ": no such settings file");
            }
            return new Architecture(file.getFileName().toString().replaceFirst("\\.json$", ""), configFile(file));
        }
        DenseNetPreset preset = preset(spec);
        return new Architecture(preset.id(), preset.config().toBuilder());
    }

    /**
     * A configuration from a JSON file of {@link DenseNetConfig} fields, starting from DenseNet-121's,
     * e.g. {@code {"stem": "CIFAR", "growthRate": 12, "initialFilters": 24, "blockLayers": [6, 6, 6],
     * "bottleneck": true, "compression": 0.5}}.
     */
    static DenseNetConfig.Builder configFile(Path file) throws IOException {
        Map<String, Object> fields;
        try {
            fields = new org.nd4j.shade.jackson.databind.ObjectMapper().readValue(file.toFile(),
                    new org.nd4j.shade.jackson.core.type.TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new UserError(file + ": not a JSON object of DenseNet settings (" + e.getMessage().lines().findFirst()
                    .orElse("") + ")");
        }
        DenseNetConfig.Builder b = DenseNetConfig.builder();
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            Object v = e.getValue();
            try {
                switch (e.getKey()) {
                    case "growthRate" -> b.growthRate(((Number) v).intValue());
                    case "initialFilters" -> b.initialFilters(((Number) v).intValue());
                    case "blockLayers" -> b.blockLayers(((List<?>) v).stream().mapToInt(o -> ((Number) o).intValue()).toArray());
                    case "compression" -> b.compression(((Number) v).doubleValue());
                    case "reduction" -> b.reduction(((Number) v).doubleValue());
                    case "bottleneck" -> b.bottleneck((Boolean) v);
                    case "bottleneckWidth" -> b.bottleneckWidth(((Number) v).intValue());
                    case "stem" -> b.stem(DenseNetConfig.Stem.valueOf(((String) v).toUpperCase(java.util.Locale.ROOT)));
                    case "convBias" -> b.convBias((Boolean) v);
                    case "dropoutRate" -> b.dropoutRate(((Number) v).doubleValue());
                    case "weightDecay" -> b.weightDecay(((Number) v).doubleValue());
                    case "bnEpsilon" -> b.bnEpsilon(((Number) v).doubleValue());
                    case "numClasses" -> b.numClasses(((Number) v).intValue());
                    default -> throw new UserError(file + ": unknown setting '" + e.getKey() + "'");
                }
            } catch (ClassCastException | NullPointerException | IllegalArgumentException ex) {
                if (ex instanceof UserError u) {
                    throw u;
                }
                throw new UserError(file + ": setting '" + e.getKey() + "' has the wrong kind of value: " + v);
            }
        }
        return b;
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
