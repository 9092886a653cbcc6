package org.densenet4j.preprocess;

import java.util.Locale;

import org.densenet4j.zoo.io.ImageTransform;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The input normalisation each weight source was trained with, for NCHW images of 0-255 pixel
 * values (what DataVec's image loaders produce), as a DL4J {@link DataSetPreProcessor}; the values
 * are {@link ImageTransform.Normalization}'s, the one place they are written:
 *
 * <ul>
 *   <li>{@link Mode#CAFFE}: the original Keras port's Caffe-converted weights. Channels in BGR order, minus the
 *       per-channel means [103.94, 116.78, 123.68], times 0.017.</li>
 *   <li>{@link Mode#TORCH}: keras.applications' weights. Channels in RGB order, divided by 255,
 *       minus [0.485, 0.456, 0.406], divided by [0.229, 0.224, 0.225].</li>
 *   <li>{@link Mode#NONE}: the pixels as they are.</li>
 * </ul>
 *
 * <p>The images' channel order is a constructor argument: DataVec's {@code NativeImageLoader}
 * yields BGR, Java's {@code ImageIO} and most other sources RGB.
 */
public final class ImageNetPreprocessor implements DataSetPreProcessor {

    private static final long serialVersionUID = 1L;

    /** A normalisation: one of {@link ImageTransform.Normalization}'s, by its one-word name. */
    public enum Mode {
        /** BGR, mean-subtracted, scaled by 0.017 (the original Keras port's weights). */
        CAFFE(ImageTransform.Normalization.CAFFE_DENSENET),
        /** RGB in [0, 1], standardised with the ImageNet statistics (keras.applications' and torchvision's weights). */
        TORCH(ImageTransform.Normalization.IMAGENET),
        /** No change. */
        NONE(ImageTransform.Normalization.NONE);

        private final ImageTransform.Normalization normalization;

        Mode(ImageTransform.Normalization normalization) {
            this.normalization = normalization;
        }

        /** What this mode computes. */
        public ImageTransform.Normalization normalization() {
            return normalization;
        }

        /** Whether the normalisation takes the channels in BGR order. */
        boolean bgr() {
            return this == CAFFE;
        }

        /** The channel order the normalised images are in: BGR for {@link #CAFFE}, else RGB. */
        public ChannelOrder channelOrder() {
            return bgr() ? ChannelOrder.BGR : ChannelOrder.RGB;
        }

        /** Per channel, in {@link #channelOrder()}, what is subtracted from 0-255 pixels; null for {@link #NONE}. */
        public double[] mean() {
            return this == NONE ? null : normalization.mean().stream()
                    .mapToDouble(m -> normalization.kind() == ImageTransform.Normalization.Kind.CAFFE ? m : 255 * m)
                    .toArray();
        }

        /** Per channel, what the pixels are then divided by; null for {@link #NONE}. */
        public double[] std() {
            if (this == NONE) {
                return null;
            }
            if (normalization.kind() == ImageTransform.Normalization.Kind.CAFFE) {
                double[] s = new double[normalization.mean().size()];
                java.util.Arrays.fill(s, 1 / normalization.scale());
                return s;
            }
            return normalization.std().stream().mapToDouble(v -> 255 * v).toArray();
        }

        /** The mode named {@code caffe}, {@code torch} or {@code none}. */
        public static Mode fromId(String id) {
            try {
                return valueOf(id.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException("unknown preprocessing '" + id + "'; use caffe, torch or none");
            }
        }
    }

    /** Channel order of the images given to the preprocessor. */
    public enum ChannelOrder {
        /** Red, green, blue. */
        RGB,
        /** Blue, green, red (DataVec's NativeImageLoader). */
        BGR
    }

    private final Mode mode;
    private final ChannelOrder input;

    /** A preprocessor of {@code mode} for images whose channels come in {@code input} order. */
    public ImageNetPreprocessor(Mode mode, ChannelOrder input) {
        this.mode = mode;
        this.input = input;
    }

    /** The normalisation applied. */
    public Mode mode() {
        return mode;
    }

    /** Normalises the features of {@code dataSet} in place. */
    @Override
    public void preProcess(DataSet dataSet) {
        dataSet.setFeatures(apply(dataSet.getFeatures()));
    }

    /**
     * The normalised copy of {@code images}, an [N, 3, H, W] array of 0-255 values.
     *
     * @throws IllegalArgumentException if the images are not [N, 3, H, W]
     */
    public INDArray apply(INDArray images) {
        if (mode == Mode.NONE) {
            return images;
        }
        if (images.rank() != 4 || images.size(1) != 3) {
            throw new IllegalArgumentException("expected images of shape [N, 3, H, W], got "
                    + java.util.Arrays.toString(images.shape()));
        }
        long[] shape = images.shape();
        int plane = (int) (shape[2] * shape[3]);
        float[] v = images.castTo(DataType.FLOAT).dup('c').data().asFloat();
        if (mode.bgr() != (input == ChannelOrder.BGR)) {
            for (int at = 0; at < v.length; at += 3 * plane) {
                for (int i = at; i < at + plane; i++) {
                    float first = v[i];
                    v[i] = v[i + 2 * plane];
                    v[i + 2 * plane] = first;
                }
            }
        }
        mode.normalization().apply(v, 3, plane);
        return Nd4j.create(v, shape, 'c');
    }
}
