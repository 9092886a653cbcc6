package org.densenet4j.keras;

import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.zoo.io.ImageTransform;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The kinds of DenseNet weight file the importer reads. */
public enum WeightLayout {
    /**
     * Keras 1 {@code save_weights} of the original Keras port's (Caffe-converted) models, TensorFlow dimension
     * ordering: conv kernels stored (kh, kw, in, out); BatchNormalization + Scale layers.
     */
    KERAS1_TF("keras1-tf", 1.1e-5),
    /**
     * The same in Theano dimension ordering: conv kernels stored (out, in, kh, kw) and spatially
     * flipped, because Theano convolves where the other frameworks cross-correlate.
     */
    KERAS1_TH("keras1-th", 1.1e-5),
    /**
     * keras.applications DenseNet121/169/201 (Keras 2 names such as {@code conv2_block1_1_conv}),
     * weights-only or full-model files; kernels (kh, kw, in, out), no Scale layers.
     */
    KERAS2("keras2", 1.001e-5),
    /**
     * A torchvision (or timm) DenseNet state_dict ({@code features.denseblock1.denselayer1.conv1.weight},
     * or the published checkpoints' {@code denselayer1.conv.1.weight}): conv kernels stored
     * (out, in, kh, kw) as DL4J stores them, the classifier (out, in); BN epsilon 1e-5.
     */
    TORCHVISION("torchvision", 1e-5);

    private final String id;
    private final double bnEpsilon;

    WeightLayout(String id, double bnEpsilon) {
        this.id = id;
        this.bnEpsilon = bnEpsilon;
    }

    /** The id used on the command line ({@code --layout keras1-th}). */
    public String id() {
        return id;
    }

    /** The batch normalisation epsilon of models saved in this layout. */
    public double bnEpsilon() {
        return bnEpsilon;
    }

    /** Whether conv kernels are stored (kh, kw, in, out). */
    boolean kernelsLast() {
        return this == KERAS1_TF || this == KERAS2;
    }

    /** Whether conv kernels are stored spatially flipped (Theano's convolution). */
    boolean flipped() {
        return this == KERAS1_TH;
    }

    /** Whether dense kernels are stored (out, in), as PyTorch's Linear keeps them, not (in, out). */
    boolean denseOutIn() {
        return this == TORCHVISION;
    }

    /**
     * How images are normalised for weights published in this layout: the normalisation of
     * {@link #transform}, by its one-word name (Caffe's for the original Keras port's files, ImageNet mean/std on
     * RGB for keras.applications' and torchvision's).
     */
    public ImageNetPreprocessor.Mode preprocessing() {
        return ImageNetPreprocessor.Mode.fromId(transform(224, 224).normalization().legacyId());
    }

    /**
     * How the weights published in this layout were evaluated by their publishers, for a model of
     * input {@code height x width}: the one place that says it for each set of weights.
     *
     * <ul>
     *   <li>{@link #KERAS1_TF}, {@link #KERAS1_TH} (the original Keras port's Caffe-converted weights, after
     *       shicai/DenseNet-Caffe and flyyufelix/DenseNet-Keras, which resize with OpenCV): a
     *       bilinear stretch to the input size, BGR, minus [103.94, 116.78, 123.68], x0.017.</li>
     *   <li>{@link #KERAS2} (keras.applications): its reference usage,
     *       {@code keras.utils.load_img(path, target_size=(224, 224))} (PIL's nearest-neighbour
     *       stretch, load_img's default) then {@code densenet.preprocess_input} ({@code mode="torch"});
     *       see {@link ImageTransform#kerasLoadImg}.</li>
     *   <li>{@link #TORCHVISION}: {@code DenseNet*_Weights.IMAGENET1K_V1.transforms()},
     *       {@code ImageClassification(crop_size=224)} (torchvision/models/densenet.py; its resize
     *       is 256): the shorter side to 256, bilinear and antialiased, a centre crop of 224, ImageNet
     *       mean and std; for another input size the crop is that size and the resize keeps
     *       torchvision's ratio, {@code round(max(height, width) * 256 / 224)}.</li>
     * </ul>
     */
    public ImageTransform transform(int height, int width) {
        return switch (this) {
            case KERAS1_TF, KERAS1_TH -> ImageTransform.stretch(height, width,
                    ImageTransform.Normalization.CAFFE_DENSENET);
            case KERAS2 -> ImageTransform.kerasLoadImg(height, width);
            case TORCHVISION -> height == 224 && width == 224 ? ImageTransform.imageClassification(224, 256)
                    : new ImageTransform(
                            new ImageTransform.ShorterSide((int) Math.round(Math.max(height, width) * 256 / 224.0)),
                            new ImageTransform.Crop(height, width), ImageTransform.Interpolation.BILINEAR, true,
                            ImageTransform.ChannelOrder.RGB, ImageTransform.Normalization.IMAGENET);
        };
    }

    /** Whether the layout is a PyTorch state_dict's rather than a Keras HDF5 file's. */
    boolean stateDict() {
        return this == TORCHVISION;
    }

    /**
     * The layout with the given id.
     *
     * @throws IllegalArgumentException naming the known ids when there is none
     */
    public static WeightLayout fromId(String id) {
        for (WeightLayout l : values()) {
            if (l.id.equals(id == null ? "" : id.trim().toLowerCase(Locale.ROOT))) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown weight layout '" + id + "'; known layouts: "
                + Arrays.stream(values()).map(WeightLayout::id).collect(Collectors.joining(", ")));
    }
}
