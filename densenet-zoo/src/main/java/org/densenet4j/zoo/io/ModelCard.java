package org.densenet4j.zoo.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.nd4j.shade.jackson.core.type.TypeReference;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * What travels with a model's weights, so that a model is used as it was trained (as torchvision's
 * weights enums carry their transforms): how images are made into its input (an
 * {@link ImageTransform}: resize, crop, interpolation, channel order, normalisation), the input size
 * it was trained at, its class names, where its weights came from and, when known, its architecture
 * (a JSON object such as {@code DenseNetConfig.toJson()} writes). Stored as plain JSON in the
 * model zip (entry {@value #ENTRY}), read without Java deserialisation; cards written before the
 * architecture was recorded read with none.
 *
 * <p>Cards written before transforms were recorded hold only a {@code preprocessing} word
 * ({@code caffe}, {@code torch}, {@code none} or {@link #STORED}); they read as the transform
 * DenseNet4J applied then, {@link ImageTransform#legacy}: a stretch to the input size. New cards
 * keep that word beside the transform, for older readers.
 *
 * @param transform     how images are made into the model's input
 * @param inputHeight   the training input height
 * @param inputWidth    the training input width
 * @param inputChannels the input channels
 * @param labels        the class names, in output order (empty when unknown)
 * @param source        provenance: for converted weights {@code file}, {@code sha256}, {@code format},
 *                      {@code layout}; for trained models what they were trained from
 * @param architecture  the model's architecture as a JSON object ({@code DenseNetConfig.toJson()}),
 *                      or null when the card does not record it
 */
public record ModelCard(ImageTransform transform, int inputHeight, int inputWidth, int inputChannels,
                        List<String> labels, Map<String, String> source, String architecture) {

    /** The zip entry holding the card. */
    public static final String ENTRY = "densenet4j-card.json";
    /** The preprocessing of a model trained here: the normaliser stored beside it. */
    public static final String STORED = "stored";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_BYTES = 16L << 20;

    /**
     * A card; the lists and maps are copied.
     *
     * @throws IllegalArgumentException when the transform's output is not the input size, or the
     *         architecture is not a JSON object
     */
    public ModelCard {
        if (transform == null) {
            throw new IllegalArgumentException("a model card needs an image transform");
        }
        int[] out = transform.outputSize();
        if (out[0] != inputHeight || out[1] != inputWidth) {
            throw new IllegalArgumentException("the image transform gives " + out[0] + "x" + out[1]
                    + " images; the model's input is " + inputHeight + "x" + inputWidth);
        }
        labels = labels == null ? List.of() : List.copyOf(labels);
        source = source == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(source));
        if (architecture != null) {
            jsonObject(architecture);
        }
    }

    /** A card that records no architecture; see {@link #withArchitecture}. */
    public ModelCard(ImageTransform transform, int inputHeight, int inputWidth, int inputChannels, List<String> labels,
                     Map<String, String> source) {
        this(transform, inputHeight, inputWidth, inputChannels, labels, source, null);
    }

    /**
     * A card whose images are stretched to the input size and normalised as {@code preprocessing}
     * says ({@code caffe}, {@code torch}, {@code none} or {@link #STORED}): {@link ImageTransform#legacy},
     * how models trained here are trained.
     */
    public ModelCard(String preprocessing, int inputHeight, int inputWidth, int inputChannels, List<String> labels,
                     Map<String, String> source) {
        this(ImageTransform.legacy(preprocessing, inputHeight, inputWidth), inputHeight, inputWidth, inputChannels,
                labels, source);
    }

    /** This card recording {@code json} as the model's architecture (null for none). */
    public ModelCard withArchitecture(String json) {
        return new ModelCard(transform, inputHeight, inputWidth, inputChannels, labels, source, json);
    }

    private static JsonNode jsonObject(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node != null && node.isObject()) {
                return node;
            }
        } catch (IOException e) {
            // reported below
        }
        throw new IllegalArgumentException("a model card's architecture must be a JSON object, was " + json);
    }

    /** The normalisation's one-word name, as cards before transforms recorded it: caffe, torch, none or stored. */
    public String preprocessing() {
        return transform.normalization().legacyId();
    }

    /** The card as JSON. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("preprocessing", preprocessing());
        m.put("transform", transform.toMap());
        m.put("input", List.of(inputHeight, inputWidth, inputChannels));
        m.put("labels", labels);
        m.put("source", source);
        if (architecture != null) {
            m.put("architecture", jsonObject(architecture));
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a model card", e);
        }
    }

    /** A card from its JSON. */
    static ModelCard fromJson(String json) throws IOException {
        Map<String, Object> m = JSON.readValue(json, new TypeReference<Map<String, Object>>() { });
        try {
            List<?> input = (List<?>) m.get("input");
            @SuppressWarnings("unchecked")
            List<String> labels = (List<String>) m.getOrDefault("labels", List.of());
            @SuppressWarnings("unchecked")
            Map<String, String> source = (Map<String, String>) m.getOrDefault("source", Map.of());
            labels.forEach(String.class::cast);
            source.forEach((k, v) -> String.class.cast(v));
            int h = ((Number) input.get(0)).intValue();
            int w = ((Number) input.get(1)).intValue();
            ImageTransform transform = m.get("transform") != null
                    ? ImageTransform.fromMap((Map<?, ?>) m.get("transform"))
                    : ImageTransform.legacy((String) m.get("preprocessing"), h, w);
            Object architecture = m.get("architecture");
            return new ModelCard(transform, h, w, ((Number) input.get(2)).intValue(), labels, source,
                    architecture == null ? null : JSON.writeValueAsString((Map<?, ?>) architecture));
        } catch (ClassCastException | NullPointerException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new IOException("not a model card: " + e.getMessage(), e);
        }
    }

    /**
     * The card stored in a model zip, or empty for a zip written without one (by DL4J, or by an
     * earlier DenseNet4J).
     *
     * @throws IOException naming the file when it is not a zip or its card is damaged
     */
    public static Optional<ModelCard> read(Path zip) throws IOException {
        try (ZipFile z = new ZipFile(zip.toFile())) {
            ZipEntry e = z.getEntry(ENTRY);
            if (e == null) {
                return Optional.empty();
            }
            try (InputStream in = z.getInputStream(e)) {
                byte[] b = in.readNBytes((int) MAX_BYTES + 1);
                if (b.length > MAX_BYTES) {
                    throw new IOException("its " + ENTRY + " is over " + MAX_BYTES + " bytes");
                }
                return Optional.of(fromJson(new String(b, StandardCharsets.UTF_8)));
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(zip + ": cannot read its model card (" + e.getMessage() + ")", e);
        }
    }
}
