package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;

/**
 * A DenseNet to train, named: a preset, or a JSON file of {@link DenseNetConfig} settings.
 *
 * @param name   the preset id, or the settings file's name without {@code .json}
 * @param config its configuration, to be completed (input shape, classes, updater)
 */
public record Architecture(String name, DenseNetConfig.Builder config) {

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
     * A configuration from a JSON file of {@link DenseNetConfig} fields, starting from DenseNet-121's,
     * e.g. {@code {"stem": "CIFAR", "growthRate": 12, "initialFilters": 24, "blockLayers": [6, 6, 6],
     * "bottleneck": true, "compression": 0.5}}.
     *
     * @throws IllegalArgumentException naming the file and the setting that is wrong
     */
    public static DenseNetConfig.Builder configFile(Path file) throws IOException {
        Map<String, Object> fields;
        try {
            fields = new org.nd4j.shade.jackson.databind.ObjectMapper().readValue(file.toFile(),
                    new org.nd4j.shade.jackson.core.type.TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not a JSON object of DenseNet settings ("
                    + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        DenseNetConfig.Builder b = DenseNetConfig.builder();
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            Object v = e.getValue();
            try {
                switch (e.getKey()) {
                    case "growthRate" -> b.growthRate(((Number) v).intValue());
                    case "initialFilters" -> b.initialFilters(((Number) v).intValue());
                    case "blockLayers" -> b.blockLayers(((List<?>) v).stream().mapToInt(o
                            -> ((Number) o).intValue()).toArray());
                    case "compression" -> b.compression(((Number) v).doubleValue());
                    case "reduction" -> b.reduction(((Number) v).doubleValue());
                    case "bottleneck" -> b.bottleneck((Boolean) v);
                    case "bottleneckWidth" -> b.bottleneckWidth(((Number) v).intValue());
                    case "stem" -> b.stem(DenseNetConfig.Stem.valueOf(((String) v).toUpperCase(Locale.ROOT)));
                    case "convBias" -> b.convBias((Boolean) v);
                    case "dropoutRate" -> b.dropoutRate(((Number) v).doubleValue());
                    case "weightDecay" -> b.weightDecay(((Number) v).doubleValue());
                    case "bnEpsilon" -> b.bnEpsilon(((Number) v).doubleValue());
                    case "numClasses" -> b.numClasses(((Number) v).intValue());
                    default -> throw new UnknownSetting(file + ": unknown setting '" + e.getKey() + "'");
                }
            } catch (UnknownSetting u) {
                throw u;
            } catch (ClassCastException | NullPointerException | IllegalArgumentException ex) {
                throw new IllegalArgumentException(file + ": setting '" + e.getKey() + "' has the wrong kind of value: "
                        + v);
            }
        }
        return b;
    }

    /** A setting name the file should not have; kept apart from a value of the wrong kind. */
    private static final class UnknownSetting extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UnknownSetting(String message) {
            super(message);
        }
    }
}
