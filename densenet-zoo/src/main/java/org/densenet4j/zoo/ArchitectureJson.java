package org.densenet4j.zoo;

import java.io.IOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.ObjDoubleConsumer;
import java.util.function.ObjIntConsumer;

import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * The JSON form of a zoo architecture, as data: a table of keys, each with the kind of value it
 * takes and the builder setter it goes to. Reading is strict: text that is not one JSON object, an
 * unknown or repeated key, or a value of the wrong kind fails with an
 * {@link IllegalArgumentException} naming the key and what it takes; values out of range are the
 * builder's to refuse. A family other than the first (the DenseNets) writes a {@code "family"} key
 * first, so that one family's reader refuses another's architecture instead of misreading it.
 *
 * <pre>{@code
 * ArchitectureJson<Builder> json = new ArchitectureJson<Builder>("an FC-DenseNet architecture", "fc-densenet")
 *         .integer("growthRate", Builder::growthRate)
 *         .integers("blockLayers", Builder::blockLayers);
 * Builder b = json.read(text, FcDenseNetConfig.builder());
 * }</pre>
 *
 * @param <B> the builder the keys set
 */
public final class ArchitectureJson<B> {

    /** The key naming the family of an architecture that is not a DenseNet's. */
    public static final String FAMILY = "family";

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String what;
    private final String family;
    private final Map<String, BiConsumer<B, JsonNode>> keys = new LinkedHashMap<>();

    /**
     * An empty table.
     *
     * @param what   what the JSON describes, for messages ("a DenseNet architecture")
     * @param family the {@value #FAMILY} key's value, or null for none (the DenseNets)
     */
    public ArchitectureJson(String what, String family) {
        this.what = what;
        this.family = family;
    }

    /** Adds a key of an integer. */
    public ArchitectureJson<B> integer(String key, ObjIntConsumer<B> setter) {
        return key(key, (b, v) -> setter.accept(b, integer(v)));
    }

    /** Adds a key of an array of integers. */
    public ArchitectureJson<B> integers(String key, BiConsumer<B, int[]> setter) {
        return key(key, (b, v) -> setter.accept(b, integers(v)));
    }

    /** Adds a key of a number. */
    public ArchitectureJson<B> number(String key, ObjDoubleConsumer<B> setter) {
        return key(key, (b, v) -> setter.accept(b, number(v)));
    }

    /** Adds a key of {@code true} or {@code false}. */
    public ArchitectureJson<B> bool(String key, BiConsumer<B, Boolean> setter) {
        return key(key, (b, v) -> {
            if (!v.isBoolean()) {
                throw new BadValue("true or false");
            }
            setter.accept(b, v.booleanValue());
        });
    }

    /** Adds a key of one of {@code type}'s constants, by name (any case). */
    public <E extends Enum<E>> ArchitectureJson<B> constant(String key, Class<E> type, BiConsumer<B, E> setter) {
        return key(key, (b, v) -> {
            String expected = "one of " + Arrays.toString(type.getEnumConstants());
            if (!v.isTextual()) {
                throw new BadValue(expected);
            }
            try {
                setter.accept(b, Enum.valueOf(type, v.textValue().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new BadValue(expected);
            }
        });
    }

    /** Adds the key of the input shape, {@code [height, width, channels]}. */
    public ArchitectureJson<B> input(String key, BiConsumer<B, int[]> setter) {
        return key(key, (b, v) -> {
            int[] hwc = integers(v);
            if (hwc.length != 3) {
                throw new BadValue("[height, width, channels]");
            }
            setter.accept(b, hwc);
        });
    }

    private ArchitectureJson<B> key(String key, BiConsumer<B, JsonNode> setter) {
        if (key.equals(FAMILY) || keys.putIfAbsent(key, setter) != null) {
            throw new IllegalArgumentException("key '" + key + "' is taken");
        }
        return this;
    }

    /** The keys, in the order they were added. */
    public Set<String> keys() {
        return keys.keySet();
    }

    /**
     * Sets what {@code json} gives on {@code builder} and returns it; keys the text leaves out keep
     * the builder's values.
     *
     * @throws IllegalArgumentException for text that is not a JSON object, an unknown or repeated
     *         key, another family's architecture, or a value of the wrong kind, naming the key
     */
    public B read(String json, B builder) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON object of " + what + " ("
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("not a JSON object of " + what + ": " + root);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (family != null && e.getKey().equals(FAMILY)) {
                if (!e.getValue().isTextual() || !e.getValue().textValue().equals(family)) {
                    throw new IllegalArgumentException("key '" + FAMILY + "' must be \"" + family + "\" in " + what
                            + ", was " + e.getValue());
                }
                continue;
            }
            BiConsumer<B, JsonNode> setter = keys.get(e.getKey());
            if (setter == null) {
                throw new IllegalArgumentException("unknown key '" + e.getKey() + "' in " + what + "; the keys are "
                        + keys.keySet());
            }
            try {
                setter.accept(builder, e.getValue());
            } catch (BadValue bad) {
                throw new IllegalArgumentException("key '" + e.getKey() + "' must be " + bad.getMessage() + ", was "
                        + e.getValue());
            }
        }
        return builder;
    }

    /** A new JSON object to write an architecture into, its {@value #FAMILY} key set if the family has one. */
    public ObjectNode object() {
        ObjectNode o = JSON.createObjectNode();
        if (family != null) {
            o.put(FAMILY, family);
        }
        return o;
    }

    /** {@code o} as indented text. */
    public static String text(ObjectNode o) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write an architecture", e);
        }
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

    /** A value of the wrong kind; the message says what the key takes. */
    private static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadValue(String expected) {
            super(expected, null, false, false);
        }
    }
}
