package org.densenet4j.examples.segmentation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetPreset;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * An FC-DenseNet named by a preset id ({@code fc-densenet56}, {@code 67}, {@code 103}) or by a
 * JSON file of its architecture, for example a small one for a small machine:
 * <pre>{@code {"initialFilters": 24, "growthRate": 8, "blockLayers": [3, 3, 3, 3, 3, 3, 3]}}</pre>
 * Keys left out keep FC-DenseNet56's values; the input shape and classes are the data's.
 *
 * @param name   the preset id, or the file's name without {@code .json}
 * @param config the configuration
 */
public record FcDenseNetSpec(String name, FcDenseNetConfig config) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> KEYS = Set.of("initialFilters", "growthRate", "blockLayers", "dropoutRate",
            "bnEpsilon");

    /**
     * The preset or JSON file {@code spec}.
     *
     * @throws IllegalArgumentException for an unknown preset, or a file that is not such a JSON
     *         object (an unknown key, a value of the wrong kind or out of range)
     * @throws IOException              when the file cannot be read
     */
    public static FcDenseNetSpec of(String spec) throws IOException {
        if (!spec.endsWith(".json") && !Files.exists(Path.of(spec))) {
            FcDenseNetPreset preset = FcDenseNetPreset.fromId(spec);
            return new FcDenseNetSpec(preset.id(), preset.config());
        }
        Path file = Path.of(spec);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": not a JSON object of FC-DenseNet settings");
        }
        FcDenseNetConfig.Builder b = FcDenseNetPreset.FC_DENSENET56.config().toBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode v = f.getValue();
            switch (f.getKey()) {
                case "initialFilters" -> b.initialFilters(integer(file, f.getKey(), v));
                case "growthRate" -> b.growthRate(integer(file, f.getKey(), v));
                case "dropoutRate" -> b.dropoutRate(number(file, f.getKey(), v));
                case "bnEpsilon" -> b.bnEpsilon(number(file, f.getKey(), v));
                case "blockLayers" -> {
                    if (!v.isArray()) {
                        throw new IllegalArgumentException(file + ": blockLayers must be an array of integers");
                    }
                    List<Integer> layers = new ArrayList<>();
                    v.forEach(e -> layers.add(integer(file, "blockLayers", e)));
                    b.blockLayers(layers.stream().mapToInt(Integer::intValue).toArray());
                }
                default -> throw new IllegalArgumentException(file + ": unknown key '" + f.getKey() + "'; known: "
                        + String.join(", ", new java.util.TreeSet<>(KEYS)));
            }
        }
        String name = file.getFileName().toString().replaceFirst("\\.json$", "");
        try {
            return new FcDenseNetSpec(name, b.build());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
    }

    private static int integer(Path file, String key, JsonNode v) {
        if (!v.isInt()) {
            throw new IllegalArgumentException(file + ": " + key + " must be an integer, was " + v);
        }
        return v.intValue();
    }

    private static double number(Path file, String key, JsonNode v) {
        if (!v.isNumber()) {
            throw new IllegalArgumentException(file + ": " + key + " must be a number, was " + v);
        }
        return v.doubleValue();
    }

    /** The architecture as a JSON object (for a model card): the keys {@link #of} reads, the input and classes. */
    public static String toJson(FcDenseNetConfig c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("family", "fc-densenet");
        o.put("initialFilters", c.initialFilters());
        o.put("growthRate", c.growthRate());
        var layers = o.putArray("blockLayers");
        for (int n : c.blockLayers()) {
            layers.add(n);
        }
        o.put("dropoutRate", c.dropoutRate());
        o.put("bnEpsilon", c.bnEpsilon());
        o.put("numClasses", c.numClasses());
        o.putArray("inputShape").add(c.inputHeight()).add(c.inputWidth()).add(c.inputChannels());
        return o.toString();
    }
}
