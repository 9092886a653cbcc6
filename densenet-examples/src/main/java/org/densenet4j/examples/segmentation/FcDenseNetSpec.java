package org.densenet4j.examples.segmentation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetPreset;

/**
 * An FC-DenseNet named by a preset id ({@code fc-densenet56}, {@code 67}, {@code 103}) or by a
 * JSON file of its architecture ({@link FcDenseNetConfig#toJson}'s keys), for example a small one
 * for a small machine:
 * <pre>{@code {"initialFilters": 24, "growthRate": 8, "blockLayers": [3, 3, 3, 3, 3, 3, 3]}}</pre>
 * Keys left out keep FC-DenseNet56's values; the input shape and classes are the data's.
 *
 * @param name   the preset id, or the file's name without {@code .json}
 * @param config the configuration
 */
public record FcDenseNetSpec(String name, FcDenseNetConfig config) {

    /**
     * The preset or JSON file {@code spec}.
     *
     * @throws IllegalArgumentException for an unknown preset, a missing file, or a file that is not
     *         such a JSON object (an unknown key, a value of the wrong kind or out of range), naming
     *         the file and the key
     * @throws IOException              when the file cannot be read
     */
    public static FcDenseNetSpec of(String spec) throws IOException {
        Path file = Path.of(spec);
        if (!spec.endsWith(".json") && !Files.exists(file)) {
            FcDenseNetPreset preset = FcDenseNetPreset.fromId(spec);
            return new FcDenseNetSpec(preset.id(), preset.config());
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": no such settings file");
        }
        String json = Files.readString(file);
        try {
            FcDenseNetConfig config = FcDenseNetConfig.fromJson(json, FcDenseNetPreset.FC_DENSENET56.config()
                    .toBuilder()).build();
            return new FcDenseNetSpec(file.getFileName().toString().replaceFirst("\\.json$", ""), config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }
}
