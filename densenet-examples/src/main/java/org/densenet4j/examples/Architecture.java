package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * A DenseNet to train, named: a preset, or a JSON file of {@link DenseNetConfig} settings.
 *
 * @param name   the preset id, or the settings file's name without {@code .json}
 * @param config its configuration, to be completed (input shape, classes, updater)
 */
public record Architecture(String name, DenseNetConfig.Builder config) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final String WEIGHT_DECAY = "weightDecay";

    /**
     * The preset {@code spec}, or the JSON settings file {@code spec} (ending in {@code .json}).
     *
     * @throws IllegalArgumentException for an unknown preset, a missing file or a bad setting (naming it)
     */
    public static Architecture of(String spec) throws IOException {
        if (spec.endsWith(".json")) {
            Path file = Path.of(spec);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(file + ": no such settings file");
            }
            return new Architecture(file.getFileName().toString().replaceFirst("\\.json$", ""), configFile(file));
        }
        DenseNetPreset preset = DenseNetPreset.fromId(spec);
        return new Architecture(preset.id(), preset.config().toBuilder());
    }

    /**
     * A configuration from a JSON file of a DenseNet architecture, in the form of
     * {@link DenseNetConfig#toJson} (keys it lacks keep DenseNet-121's values), e.g. {@code {"stem":
     * "CIFAR", "growthRate": 12, "initialFilters": 24, "blockLayers": [6, 6, 6], "bottleneck": true,
     * "compression": 0.5}}; the file may also set the training setting {@code weightDecay}.
     *
     * @throws IllegalArgumentException naming the file and the setting that is wrong
     */
    public static DenseNetConfig.Builder configFile(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not a JSON object of DenseNet settings ("
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")");
        }
        if (!(root instanceof ObjectNode fields)) {
            throw new IllegalArgumentException(file + ": not a JSON object of DenseNet settings");
        }
        JsonNode weightDecay = fields.remove(WEIGHT_DECAY);
        try {
            DenseNetConfig.Builder b = DenseNetConfig.fromJson(JSON.writeValueAsString(fields));
            if (weightDecay != null) {
                if (!weightDecay.isNumber()) {
                    throw new IllegalArgumentException("key '" + WEIGHT_DECAY + "' must be a number, was "
                            + weightDecay);
                }
                b.weightDecay(weightDecay.doubleValue());
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
