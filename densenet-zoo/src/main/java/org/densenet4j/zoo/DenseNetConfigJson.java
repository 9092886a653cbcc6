package org.densenet4j.zoo;

import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

import org.densenet4j.zoo.DenseNetConfig.Pooling;
import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ArrayNode;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * The JSON form of a DenseNet architecture ({@link DenseNetConfig#toJson}, {@link DenseNetConfig#fromJson}):
 * one key per architecture field, the input as {@code [height, width, channels]}; the training
 * settings are not part of it.
 */
final class DenseNetConfigJson {

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final Map<String, BiConsumer<DenseNetConfig.Builder, JsonNode>> KEYS = new LinkedHashMap<>();

    static {
        KEYS.put("growthRate", (b, v) -> b.growthRate(integer(v)));
        KEYS.put("initialFilters", (b, v) -> b.initialFilters(integer(v)));
        KEYS.put("blockLayers", (b, v) -> b.blockLayers(integers(v)));
        KEYS.put("compression", (b, v) -> b.compression(number(v)));
        KEYS.put("reduction", (b, v) -> b.reduction(number(v)));
        KEYS.put("bottleneck", (b, v) -> b.bottleneck(bool(v)));
        KEYS.put("bottleneckWidth", (b, v) -> b.bottleneckWidth(integer(v)));
        KEYS.put("stem", (b, v) -> b.stem(constant(v, Stem.class)));
        KEYS.put("convBias", (b, v) -> b.convBias(bool(v)));
        KEYS.put("dropoutRate", (b, v) -> b.dropoutRate(number(v)));
        KEYS.put("bnEpsilon", (b, v) -> b.bnEpsilon(number(v)));
        KEYS.put("numClasses", (b, v) -> b.numClasses(integer(v)));
        KEYS.put("input", (b, v) -> input(b, v));
        KEYS.put("includeTop", (b, v) -> b.includeTop(bool(v)));
        KEYS.put("pooling", (b, v) -> b.pooling(constant(v, Pooling.class)));
    }

    private DenseNetConfigJson() {
    }

    /** {@code config}'s architecture: every key but {@code reduction} (written as {@code compression}). */
    static String write(DenseNetConfig config) {
        ObjectNode o = JSON.createObjectNode();
        o.put("growthRate", config.growthRate());
        o.put("initialFilters", config.initialFilters());
        ArrayNode blocks = o.putArray("blockLayers");
        config.blockLayers().forEach(blocks::add);
        o.put("compression", config.compression());
        o.put("bottleneck", config.bottleneck());
        o.put("bottleneckWidth", config.bottleneckWidth());
        o.put("stem", config.stem().name());
        o.put("convBias", config.convBias());
        o.put("dropoutRate", config.dropoutRate());
        o.put("bnEpsilon", config.bnEpsilon());
        o.put("numClasses", config.numClasses());
        o.putArray("input").add(config.inputHeight()).add(config.inputWidth()).add(config.inputChannels());
        o.put("includeTop", config.includeTop());
        o.put("pooling", config.pooling().name());
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a DenseNet architecture", e);
        }
    }

    /** A builder with the architecture {@code json} gives, the other fields {@link DenseNetConfig#builder()}'s. */
    static DenseNetConfig.Builder read(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON object of a DenseNet architecture ("
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("not a JSON object of a DenseNet architecture: " + root);
        }
        DenseNetConfig.Builder b = DenseNetConfig.builder();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            BiConsumer<DenseNetConfig.Builder, JsonNode> setter = KEYS.get(e.getKey());
            if (setter == null) {
                throw new IllegalArgumentException("unknown key '" + e.getKey() + "' in a DenseNet architecture; "
                        + "the keys are " + KEYS.keySet());
            }
            try {
                setter.accept(b, e.getValue());
            } catch (BadValue bad) {
                throw new IllegalArgumentException("key '" + e.getKey() + "' must be " + bad.getMessage() + ", was "
                        + e.getValue());
            }
        }
        return b;
    }

    private static int integer(JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new BadValue("an integer");
        }
        return v.intValue();
    }

    private static int[] integers(JsonNode v) {
        if (!v.isArray()) {
            throw new BadValue("an array of integers");
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isIntegralNumber() || !v.get(i).canConvertToInt()) {
                throw new BadValue("an array of integers");
            }
            out[i] = v.get(i).intValue();
        }
        return out;
    }

    private static double number(JsonNode v) {
        if (!v.isNumber()) {
            throw new BadValue("a number");
        }
        return v.doubleValue();
    }

    private static boolean bool(JsonNode v) {
        if (!v.isBoolean()) {
            throw new BadValue("true or false");
        }
        return v.booleanValue();
    }

    private static <E extends Enum<E>> E constant(JsonNode v, Class<E> type) {
        String expected = "one of " + Arrays.toString(type.getEnumConstants());
        if (!v.isTextual()) {
            throw new BadValue(expected);
        }
        try {
            return Enum.valueOf(type, v.textValue().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadValue(expected);
        }
    }

    private static void input(DenseNetConfig.Builder b, JsonNode v) {
        int[] hwc = integers(v);
        if (hwc.length != 3) {
            throw new BadValue("[height, width, channels]");
        }
        b.inputShape(hwc[0], hwc[1], hwc[2]);
    }

    /** A value of the wrong kind; the message says what the key takes. */
    private static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadValue(String expected) {
            super(expected, null, false, false);
        }
    }
}
