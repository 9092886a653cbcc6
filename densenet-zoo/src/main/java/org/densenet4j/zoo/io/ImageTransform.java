package org.densenet4j.zoo.io;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How an image file becomes a model's input, as data: what each set of weights was trained and
 * evaluated with, recorded in its {@link ModelCard} (as torchvision's weights enums carry their
 * {@code transforms()}). The steps, in order:
 *
 * <ol>
 *   <li>decode to 8-bit RGB (or gray for a one-channel model);</li>
 *   <li>{@link #resize()}: the shorter side to N (the other in proportion, as torchvision's
 *       {@code Resize(N)} computes it), or a stretch to height x width;</li>
 *   <li>with {@link #interpolation()}, antialiased or not ({@link #antialias()}): PIL's
 *       {@code Image.resize} when antialiased, as torchvision's {@code Resize} is on PIL images;</li>
 *   <li>{@link #crop()}: a centre crop to height x width (none after a stretch);</li>
 *   <li>{@link #channelOrder()}: the colour channels in RGB or BGR order;</li>
 *   <li>{@link #normalization()}: from the 0-255 values to the model's input.</li>
 * </ol>
 *
 * <p>The factories {@link #imageClassification}, {@link #kerasLoadImg}, {@link #stretch} and
 * {@link #legacy} give the published weights' transforms and the ones of models trained here.
 *
 * @param resize        the resize policy
 * @param crop          the centre crop, or null for none (a stretch gives the input size already)
 * @param interpolation how pixels are resampled
 * @param antialias     whether a downscale widens the filter by the scale factor (PIL always does)
 * @param channelOrder  the channel order the normalisation and the model see
 * @param normalization the normalisation of the 0-255 values
 */
public record ImageTransform(Resize resize, Crop crop, Interpolation interpolation, boolean antialias,
                             ChannelOrder channelOrder, Normalization normalization) {

    /** A transform; the output size must be fixed (a shorter-side resize needs a crop). */
    public ImageTransform {
        if (resize == null || interpolation == null || channelOrder == null || normalization == null) {
            throw new IllegalArgumentException("an image transform needs a resize, an interpolation, a channel order "
                    + "and a normalisation");
        }
        if (resize instanceof ShorterSide && crop == null) {
            throw new IllegalArgumentException("resizing the shorter side to " + ((ShorterSide) resize).size()
                    + " needs a centre crop: images of other shapes would give other sizes");
        }
    }

    /** Pixel resampling. */
    public enum Interpolation {
        /** PIL's NEAREST: the source pixel under each output pixel's centre. */
        NEAREST,
        /** PIL's BILINEAR: the triangle filter (support 1). */
        BILINEAR,
        /** PIL's BICUBIC: Keys' cubic with a = -0.5 (support 2). */
        BICUBIC;

        /** The lower-case id used in model cards. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The interpolation named {@code id}. */
        public static Interpolation fromId(String id) {
            return ImageTransform.fromId(Interpolation.class, id, "nearest, bilinear or bicubic");
        }
    }

    /** Colour channel order. */
    public enum ChannelOrder {
        /** Red, green, blue (torchvision, keras.applications). */
        RGB,
        /** Blue, green, red (Caffe, OpenCV). */
        BGR;

        /** The lower-case id used in model cards. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The order named {@code id}. */
        public static ChannelOrder fromId(String id) {
            return ImageTransform.fromId(ChannelOrder.class, id, "rgb or bgr");
        }
    }

    /** How the image is brought to the transform's size before the crop. */
    public sealed interface Resize permits ShorterSide, Stretch {
        /** The {height, width} an image of {@code height x width} is resized to. */
        int[] outputSize(int height, int width);
    }

    /**
     * The shorter side to {@code size}, the longer one to {@code (int) (size * longer / shorter)}
     * (truncated), as torchvision's {@code Resize(size)} computes it
     * ({@code _compute_resized_output_size} in torchvision/transforms/functional.py, 0.14).
     *
     * @param size the shorter side's length after the resize
     */
    public record ShorterSide(int size) implements Resize {
        /** A resize of the shorter side; size must be positive. */
        public ShorterSide {
            positive(size, "resize size");
        }

        @Override
        public int[] outputSize(int height, int width) {
            if (height == width) {
                return new int[] {size, size};
            }
            boolean tall = width <= height;
            int shorter = tall ? width : height;
            int longer = tall ? height : width;
            // torchvision: int(requested_new_short * long / short), in floating point, truncated
            int newLonger = (int) ((double) ((long) size * longer) / shorter);
            return tall ? new int[] {newLonger, size} : new int[] {size, newLonger};
        }
    }

    /**
     * Every image to {@code height x width}, whatever its aspect ratio.
     *
     * @param height the output height
     * @param width  the output width
     */
    public record Stretch(int height, int width) implements Resize {
        /** A stretch; both sizes must be positive. */
        public Stretch {
            positive(height, "height");
            positive(width, "width");
        }

        @Override
        public int[] outputSize(int h, int w) {
            return new int[] {height, width};
        }
    }

    /**
     * A centre crop, its offsets {@code round((size - crop) / 2)} with ties to even, as torchvision's
     * {@code center_crop} rounds them (Python's {@code round}); an image smaller than the crop is
     * padded with zeros first, as torchvision pads it.
     *
     * @param height the crop height
     * @param width  the crop width
     */
    public record Crop(int height, int width) {
        /** A crop; both sizes must be positive. */
        public Crop {
            positive(height, "crop height");
            positive(width, "crop width");
        }

        /** The offset of the crop in a side of {@code size} (negative: the crop is larger, by padding). */
        public static int offset(int size, int crop) {
            if (crop > size) {
                // torchvision pads (crop - size) // 2 before, then the crop is the padded image
                return -Math.floorDiv(crop - size, 2);
            }
            return (int) Math.rint((size - crop) / 2.0);
        }
    }

    /**
     * The normalisation of 0-255 values (after the channel reordering), per channel c:
     *
     * <ul>
     *   <li>{@link Kind#MEAN_STD}: {@code (x / 255 - mean[c]) / std[c]}, in float32 as torchvision's
     *       {@code ToTensor}/{@code convert_image_dtype} then {@code Normalize} compute it;</li>
     *   <li>{@link Kind#CAFFE}: {@code (x - mean[c]) * scale}, on 0-255 values;</li>
     *   <li>{@link Kind#NONE}: the 0-255 values as they are;</li>
     *   <li>{@link Kind#STORED}: the DL4J {@code DataNormalization} stored in the model zip, fitted
     *       when the model was trained here.</li>
     * </ul>
     *
     * @param kind  the kind
     * @param mean  the per-channel means (empty for NONE and STORED)
     * @param std   the per-channel standard deviations (MEAN_STD only, else empty)
     * @param scale the factor after the mean (CAFFE only, else 1)
     */
    public record Normalization(Kind kind, List<Double> mean, List<Double> std, double scale) {

        /** torchvision's ImageNet statistics on 0-1 RGB (transforms/_presets.py, ImageClassification's defaults). */
        public static final Normalization IMAGENET = meanStd(List.of(0.485, 0.456, 0.406),
                List.of(0.229, 0.224, 0.225));
        /**
         * The original Keras port's Caffe-converted weights (shicai/DenseNet-Caffe, via flyyufelix/DenseNet-Keras):
         * BGR means [103.94, 116.78, 123.68], then x0.017.
         */
        public static final Normalization CAFFE_DENSENET = new Normalization(Kind.CAFFE,
                List.of(103.94, 116.78, 123.68), List.of(), 0.017);
        /** The 0-255 values as they are. */
        public static final Normalization NONE = new Normalization(Kind.NONE, List.of(), List.of(), 1);
        /** The normaliser stored in the model zip. */
        public static final Normalization STORED = new Normalization(Kind.STORED, List.of(), List.of(), 1);

        /** What a normalisation does (see {@link Normalization}). */
        public enum Kind {
            /** {@code (x / 255 - mean) / std}. */
            MEAN_STD("mean-std"),
            /** {@code (x - mean) * scale}. */
            CAFFE("caffe"),
            /** No change. */
            NONE("none"),
            /** The DL4J normaliser stored in the zip. */
            STORED("stored");

            private final String id;

            Kind(String id) {
                this.id = id;
            }

            /** The id used in model cards. */
            public String id() {
                return id;
            }

            /** The kind named {@code id}. */
            public static Kind fromId(String id) {
                for (Kind k : values()) {
                    if (k.id.equalsIgnoreCase(id == null ? "" : id.trim())) {
                        return k;
                    }
                }
                throw new IllegalArgumentException("unknown normalisation '" + id + "'; known: mean-std, caffe, none, "
                        + "stored");
            }
        }

        /** A normalisation; the lists are copied and checked against the kind. */
        public Normalization {
            mean = mean == null ? List.of() : List.copyOf(mean);
            std = std == null ? List.of() : List.copyOf(std);
            boolean needsMean = kind == Kind.MEAN_STD || kind == Kind.CAFFE;
            if (kind == null || needsMean == mean.isEmpty() || (kind == Kind.MEAN_STD) != !std.isEmpty()
                    || (kind == Kind.MEAN_STD && std.size() != mean.size())) {
                throw new IllegalArgumentException("normalisation " + (kind == null ? null : kind.id()) + " with mean "
                        + mean + " and std " + std + ": mean-std takes both (one value per channel), caffe a mean "
                        + "and a scale, none and stored neither");
            }
            if (std.stream().anyMatch(s -> !(s > 0) || s.isInfinite())) {
                throw new IllegalArgumentException("normalisation std must be positive, was " + std);
            }
            if (!(scale > 0) || Double.isInfinite(scale)) {
                throw new IllegalArgumentException("normalisation scale must be positive, was " + scale);
            }
        }

        /** {@code (x / 255 - mean) / std}. */
        public static Normalization meanStd(List<Double> mean, List<Double> std) {
            return new Normalization(Kind.MEAN_STD, mean, std, 1);
        }

        /** {@code (x - mean) * scale}. */
        public static Normalization caffe(List<Double> mean, double scale) {
            return new Normalization(Kind.CAFFE, mean, List.of(), scale);
        }

        /**
         * Normalises {@code values} in place: {@code images} images of {@code channels} planes of
         * {@code plane} values each (NCHW, row-major), 0-255.
         *
         * @throws IllegalStateException    for {@link Kind#STORED} (the zip's normaliser applies)
         * @throws IllegalArgumentException when the channels do not match the means
         */
        public void apply(float[] values, int channels, int plane) {
            if (kind == Kind.NONE) {
                return;
            }
            if (kind == Kind.STORED) {
                throw new IllegalStateException("the normaliser stored in the model zip applies, not a fixed one");
            }
            if (channels != mean.size()) {
                throw new IllegalArgumentException(kind.id() + " normalisation has " + mean.size() + " channel means; "
                        + "the images have " + channels + " channels");
            }
            int image = channels * plane;
            for (int c = 0; c < channels; c++) {
                float m = mean.get(c).floatValue();
                float s = kind == Kind.MEAN_STD ? std.get(c).floatValue() : (float) scale;
                for (int at = c * plane; at < values.length; at += image) {
                    for (int i = at; i < at + plane; i++) {
                        values[i] = kind == Kind.MEAN_STD ? (values[i] / 255f - m) / s : (values[i] - m) * s;
                    }
                }
            }
        }

        /** The legacy one-word name: {@code torch}, {@code caffe}, {@code none} or {@code stored}. */
        public String legacyId() {
            return switch (kind) {
                case MEAN_STD -> "torch";
                case CAFFE -> "caffe";
                case NONE -> "none";
                case STORED -> ModelCard.STORED;
            };
        }

        /** The normalisation a legacy one-word name stood for (the {@code preprocessing} of older cards). */
        public static Normalization fromLegacyId(String id) {
            return switch (id == null ? "" : id.trim().toLowerCase(Locale.ROOT)) {
                case "torch" -> IMAGENET;
                case "caffe" -> CAFFE_DENSENET;
                case "none" -> NONE;
                case ModelCard.STORED -> STORED;
                default -> throw new IllegalArgumentException("unknown preprocessing '" + id
                        + "'; use caffe, torch or none");
            };
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", kind.id());
            if (!mean.isEmpty()) {
                m.put("mean", mean);
            }
            if (!std.isEmpty()) {
                m.put("std", std);
            }
            if (kind == Kind.CAFFE) {
                m.put("scale", scale);
            }
            return m;
        }

        static Normalization fromMap(Map<?, ?> m) {
            Kind kind = Kind.fromId((String) m.get("kind"));
            Object scale = m.get("scale");
            return new Normalization(kind, numbers(m.get("mean")), numbers(m.get("std")),
                    scale == null ? 1 : ((Number) scale).doubleValue());
        }
    }

    /**
     * torchvision's {@code ImageClassification(crop_size, resize_size)} (transforms/_presets.py), the
     * {@code transforms()} of its {@code DenseNet*_Weights.IMAGENET1K_V1} (crop 224, resize 256):
     * the shorter side to {@code resizeSize}, bilinear, antialiased (PIL's resize), a centre crop of
     * {@code cropSize}, RGB, ImageNet mean and std on 0-1 values.
     */
    public static ImageTransform imageClassification(int cropSize, int resizeSize) {
        return new ImageTransform(new ShorterSide(resizeSize), new Crop(cropSize, cropSize), Interpolation.BILINEAR,
                true, ChannelOrder.RGB, Normalization.IMAGENET);
    }

    /**
     * keras.applications' reference usage for its DenseNets: {@code keras.utils.load_img(path,
     * target_size=(height, width))} (keras/src/utils/image_utils.py: PIL's resize, interpolation
     * {@code "nearest"} by default, no crop) then {@code densenet.preprocess_input} (imagenet_utils'
     * {@code mode="torch"}: RGB, ImageNet mean and std on 0-1 values).
     */
    public static ImageTransform kerasLoadImg(int height, int width) {
        return new ImageTransform(new Stretch(height, width), null, Interpolation.NEAREST, false, ChannelOrder.RGB,
                Normalization.IMAGENET);
    }

    /**
     * A stretch to {@code height x width}, bilinear without antialiasing, with {@code normalization}
     * (RGB, except BGR for Caffe's): how DenseNet4J loaded images before transforms were recorded,
     * how models trained here were trained, and what {@code --size} asks for.
     */
    public static ImageTransform stretch(int height, int width, Normalization normalization) {
        return new ImageTransform(new Stretch(height, width), null, Interpolation.BILINEAR, false,
                normalization.kind() == Normalization.Kind.CAFFE ? ChannelOrder.BGR : ChannelOrder.RGB, normalization);
    }

    /**
     * What a card written before transforms meant by its {@code preprocessing} word ({@code caffe},
     * {@code torch}, {@code none}, {@code stored}): a {@link #stretch} to its input size.
     */
    public static ImageTransform legacy(String preprocessing, int height, int width) {
        return stretch(height, width, Normalization.fromLegacyId(preprocessing));
    }

    /** The {height, width} of the transform's output, whatever the image's size. */
    public int[] outputSize() {
        if (crop != null) {
            return new int[] {crop.height(), crop.width()};
        }
        return resize.outputSize(0, 0); // a stretch: checked by the constructor
    }

    /** This transform with another normalisation (and the channel order that goes with it). */
    public ImageTransform withNormalization(Normalization n) {
        ChannelOrder order = n.kind() == Normalization.Kind.CAFFE ? ChannelOrder.BGR
                : n.kind() == Normalization.Kind.MEAN_STD ? ChannelOrder.RGB : channelOrder;
        return new ImageTransform(resize, crop, interpolation, antialias, order, n);
    }

    /**
     * Normalises RGB (or gray) 0-255 images in place, as the transform's last two steps: the
     * channels put in {@link #channelOrder()}, then {@link #normalization()} applied.
     *
     * @param values   {@code values.length / (channels * plane)} images, NCHW, row-major
     * @param channels the channels per image (3 RGB, 1 gray)
     * @param plane    the values per channel (height x width)
     */
    public void normalize(float[] values, int channels, int plane) {
        if (channels == 3 && channelOrder == ChannelOrder.BGR) {
            for (int at = 0; at < values.length; at += 3 * plane) {
                for (int i = at; i < at + plane; i++) {
                    float r = values[i];
                    values[i] = values[i + 2 * plane];
                    values[i + 2 * plane] = r;
                }
            }
        }
        normalization.apply(values, channels, plane);
    }

    /** A one-line description, e.g. for {@code densenet summary}. */
    public String describe() {
        String r = resize instanceof ShorterSide s ? "shorter side to " + s.size()
                : "stretch to " + ((Stretch) resize).height() + "x" + ((Stretch) resize).width();
        return r + ", " + interpolation.id() + (antialias ? " (antialiased)" : "")
                + (crop != null ? ", centre crop " + crop.height() + "x" + crop.width() : "") + ", "
                + channelOrder.id() + ", " + normalization.kind().id()
                + (normalization.mean().isEmpty() ? "" : " mean " + normalization.mean())
                + (normalization.std().isEmpty() ? "" : " std " + normalization.std())
                + (normalization.kind() == Normalization.Kind.CAFFE ? " x" + normalization.scale() : "");
    }

    /** The transform as JSON, the object a model card holds (for other containers, e.g. ONNX metadata). */
    public String toJson() {
        try {
            return new org.nd4j.shade.jackson.databind.ObjectMapper().writeValueAsString(toMap());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot write an image transform", e);
        }
    }

    /**
     * A transform from its {@link #toJson()} form.
     *
     * @throws java.io.IOException naming what is wrong when {@code json} is not a transform
     */
    public static ImageTransform fromJson(String json) throws java.io.IOException {
        try {
            Map<?, ?> m = new org.nd4j.shade.jackson.databind.ObjectMapper().readValue(json, Map.class);
            return fromMap(m);
        } catch (ClassCastException | NullPointerException | IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new java.io.IOException("not an image transform: " + e.getMessage(), e);
        }
    }

    /** The transform as the JSON object of a model card. */
    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> r = new LinkedHashMap<>();
        if (resize instanceof ShorterSide s) {
            r.put("policy", "shorter-side");
            r.put("size", s.size());
        } else {
            Stretch s = (Stretch) resize;
            r.put("policy", "stretch");
            r.put("size", List.of(s.height(), s.width()));
        }
        m.put("resize", r);
        m.put("crop", crop == null ? null : List.of(crop.height(), crop.width()));
        m.put("interpolation", interpolation.id());
        m.put("antialias", antialias);
        m.put("channels", channelOrder.id());
        m.put("normalization", normalization.toMap());
        return m;
    }

    /** A transform from the JSON object of a model card. */
    static ImageTransform fromMap(Map<?, ?> m) {
        Map<?, ?> r = (Map<?, ?>) m.get("resize");
        String policy = (String) r.get("policy");
        Resize resize = switch (policy == null ? "" : policy) {
            case "shorter-side" -> new ShorterSide(((Number) r.get("size")).intValue());
            case "stretch" -> {
                List<Double> hw = numbers(r.get("size"));
                yield new Stretch(hw.get(0).intValue(), hw.get(1).intValue());
            }
            default -> throw new IllegalArgumentException("unknown resize policy '" + policy
                    + "'; known: shorter-side, stretch");
        };
        List<Double> crop = m.get("crop") == null ? null : numbers(m.get("crop"));
        return new ImageTransform(resize,
                crop == null ? null : new Crop(crop.get(0).intValue(), crop.get(1).intValue()),
                Interpolation.fromId((String) m.get("interpolation")), Boolean.TRUE.equals(m.get("antialias")),
                ChannelOrder.fromId((String) m.get("channels")),
                Normalization.fromMap((Map<?, ?>) m.get("normalization")));
    }

    private static List<Double> numbers(Object list) {
        if (list == null) {
            return List.of();
        }
        return ((List<?>) list).stream().map(v -> ((Number) v).doubleValue()).toList();
    }

    private static void positive(int v, String what) {
        if (v <= 0) {
            throw new IllegalArgumentException(what + " must be positive, was " + v);
        }
    }

    private static <E extends Enum<E>> E fromId(Class<E> type, String id, String known) {
        try {
            return Enum.valueOf(type, id.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("unknown " + type.getSimpleName().toLowerCase(Locale.ROOT) + " '" + id
                    + "'; known: " + known);
        }
    }
}
