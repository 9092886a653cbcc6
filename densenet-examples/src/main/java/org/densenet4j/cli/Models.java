package org.densenet4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.engine.NativeMemory;
import org.densenet4j.preprocess.ImageNetLabels;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

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
     * A model ready to run, with what was stored beside its weights: the graph, the zip it came from
     * (a preset's pretrained model in the zoo cache), its class names and its input normalisation.
     */
    record Loaded(ComputationGraph net, Path zip, List<String> storedLabels, DataNormalization normalizer,
            int[] defaultSize, ModelCard card) {

        /**
         * The image normalisation to use: {@code option} when given (with a warning on {@code err}
         * when the model records another), else the one the model's card records, else Caffe's (the
         * seed's weights, for model zips written before cards).
         */
        ImageNetPreprocessor.Mode preprocessing(String option, java.io.PrintWriter err) {
            ImageNetPreprocessor.Mode recorded = null;
            if (card != null && !card.preprocessing().equals(ModelCard.STORED)) {
                recorded = ImageNetPreprocessor.Mode.fromId(card.preprocessing());
            }
            if (option == null) {
                return recorded != null ? recorded : ImageNetPreprocessor.Mode.CAFFE;
            }
            ImageNetPreprocessor.Mode asked = ImageNetPreprocessor.Mode.fromId(option);
            if (normalizer != null) {
                err.println("warning: " + zip + " stores the input scaling it was trained with; --preprocess "
                        + option + " is not used");
            } else if (recorded != null && recorded != asked) {
                err.println("warning: " + zip + " records " + card.preprocessing() + " preprocessing for its weights; "
                        + "--preprocess " + option + " overrides it");
            }
            return asked;
        }

        /** The class names for {@code classes} outputs: stored ones, else ImageNet's for 1000, else null. */
        List<String> labels(long classes) {
            if (storedLabels != null && storedLabels.size() == classes) {
                return storedLabels;
            }
            return classes == 1000 ? ImageNetLabels.imageNet() : null;
        }

        /** Channels of the first convolution (3 when the graph does not start with one). */
        int channels() {
            long c = PredictCommand.inputChannels(net);
            return c > 0 ? (int) c : 3;
        }

        /** {@code x} (decoded images) normalised: the stored normalisation, else {@code mode} for colour images. */
        INDArray normalise(INDArray x, ImageNetPreprocessor.Mode mode) {
            if (normalizer != null) {
                normalizer.transform(x); // the scaling the model was trained with
                return x;
            }
            return x.size(1) == 3 ? new ImageNetPreprocessor(mode, ImageNetPreprocessor.ChannelOrder.RGB).apply(x) : x;
        }
    }

    /**
     * The model zip {@code spec}, or the pretrained model of preset {@code spec} (of whatever kind the
     * preset has: ImageNet weights, or the Fashion-MNIST model) from the zoo cache.
     */
    static Loaded load(String spec) throws IOException {
        if (isFile(spec)) {
            Path zip = Path.of(spec);
            ComputationGraph net = ModelFiles.read(zip, false);
            var vertices = net.getConfiguration().getVertices();
            boolean denseNet = vertices.containsKey("conv1")
                    && vertices.keySet().stream().anyMatch(v -> v.startsWith("concat_"));
            if (!denseNet) {
                throw new UserError(spec + ": a DL4J model, but not a DenseNet (it has no conv1 and concat_* layers); "
                        + "convert one with 'densenet convert' or train one with 'densenet train'");
            }
            long channels = PredictCommand.inputChannels(net);
            return stored(net, zip, channels == 1 ? new int[] {28, 28} : new int[] {224, 224});
        }
        DenseNetPreset preset = preset(spec);
        ComputationGraph net = DenseNetZooModel.of(preset).initPretrained();
        Path zip = ModelFiles.cachedModel(preset.id(), preset.pretrainedType().orElse(PretrainedType.IMAGENET));
        return stored(net, zip, new int[] {preset.config().inputHeight(), preset.config().inputWidth()});
    }

    private static Loaded stored(ComputationGraph net, Path zip, int[] defaultSize) throws IOException {
        ModelCard card = ModelCard.read(zip).orElse(null);
        if (card != null) {
            defaultSize = new int[] {card.inputHeight(), card.inputWidth()};
        }
        List<String> labels = card != null && !card.labels().isEmpty() ? card.labels() : null;
        if (labels == null) {
            try {
                labels = ModelSerializer.getObjectFromFile(zip.toFile(), "labels"); // zips written before cards
            } catch (RuntimeException e) {
                // no labels stored
            }
        }
        DataNormalization normalizer = null;
        try {
            normalizer = ModelSerializer.restoreNormalizerFromFile(zip.toFile());
        } catch (RuntimeException | IOException e) {
            // no normalisation stored
        }
        return new Loaded(net, zip, labels, normalizer, defaultSize, card);
    }

    /**
     * Allocates the trainer's buffers for batches of {@code shape} before the first step; a batch
     * that does not fit is a one-line error naming the model.
     */
    static long prepare(String model, TrainingStep step, long... shape) {
        try {
            return step.prepare(shape);
        } catch (NativeMemory.TooLargeException e) {
            throw new UserError(model + ": " + e.getMessage());
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
