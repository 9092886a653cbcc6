package org.densenet4j.examples;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.preprocess.ImageClassifier;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ImageTransform.Normalization;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;

/**
 * A DenseNet ready to run on images, with what was stored beside its weights: the graph, the zip it
 * came from (a preset's pretrained model in the zoo cache), its class names, its input scaling and
 * its card (input size, image transform). What {@code densenet predict}, {@code features} and the
 * Spark stages load; {@link #preprocess(List)} makes image files into its input the way its
 * weights were trained and evaluated (its card's {@link ImageTransform}).
 *
 * @param net          the graph
 * @param zip          the model zip it was read from
 * @param storedLabels the class names stored with it, or null
 * @param normalizer   the input scaling it was trained with, or null
 * @param defaultSize  the input height and width it expects
 * @param card         its model card, or null for zips written before cards
 */
public record ImageModel(ComputationGraph net, Path zip, List<String> storedLabels, DataNormalization normalizer,
                         int[] defaultSize, ModelCard card) {

    /** Whether {@code spec} names a file rather than a preset ({@link ImageClassifier#namesFile}). */
    public static boolean isFile(String spec) {
        return ImageClassifier.namesFile(spec);
    }

    /**
     * The model zip {@code spec}, or the pretrained model of preset {@code spec} (of whatever kind the
     * preset has: ImageNet weights, or the Fashion-MNIST model) from the zoo cache.
     *
     * @throws IllegalArgumentException for an unknown preset, or a zip that holds no DenseNet
     * @throws IOException              when the zip cannot be read
     */
    public static ImageModel load(String spec) throws IOException {
        if (isFile(spec)) {
            return read(Path.of(spec), spec);
        }
        DenseNetPreset preset = DenseNetPreset.fromId(spec);
        ComputationGraph net = DenseNetZooModel.of(preset).initPretrained(); // checks the architecture too
        Path zip = ImageClassifier.pretrainedZip(preset);
        return stored(net, zip, new int[] {preset.config().inputHeight(), preset.config().inputWidth()});
    }

    /**
     * The DenseNet in model zip {@code zip} ({@code name} in messages).
     *
     * @throws IllegalArgumentException when the zip holds a graph that is not a DenseNet
     */
    public static ImageModel read(Path zip, String name) throws IOException {
        ComputationGraph net = ModelFiles.read(zip, false);
        var vertices = net.getConfiguration().getVertices();
        boolean denseNet = vertices.containsKey("conv1") && vertices.keySet().stream().anyMatch(v
                -> v.startsWith("concat_"));
        if (!denseNet) {
            throw new IllegalArgumentException(name
                    + ": a DL4J model, but not a DenseNet (it has no conv1 and concat_* "
                    + "layers); convert one with 'densenet convert' or train one with 'densenet train'");
        }
        String output = net.getConfiguration().getNetworkOutputs().get(0);
        if (net.getLayer(output) != null
                && net.getLayer(output).conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.CnnLossLayer) {
            throw new IllegalArgumentException(name + ": a segmentation model (its output '" + output
                    + "' is a class per pixel), not an image classifier; run it with 'densenet segment'");
        }
        return stored(net, zip, inputChannels(net) == 1 ? new int[] {28, 28} : new int[] {224, 224});
    }

    private static ImageModel stored(ComputationGraph net, Path zip, int[] defaultSize) throws IOException {
        ModelCard card = ModelCard.read(zip).orElse(null);
        if (card != null) {
            defaultSize = new int[] {card.inputHeight(), card.inputWidth()};
        }
        List<String> labels = ModelFiles.readLabels(zip).orElse(null);
        DataNormalization normalizer = (DataNormalization) ModelFiles.readNormalizer(zip)
                .filter(n -> n instanceof DataNormalization).orElse(null);
        return new ImageModel(net, zip, labels, normalizer, defaultSize, card);
    }

    /**
     * The library's view of this model: graph, transform, labels ({@link ImageClassifier#of}), to
     * which the methods below delegate.
     */
    public ImageClassifier classifier() {
        return ImageClassifier.of(net, card, storedLabels, normalizer, defaultSize);
    }

    /**
     * How images are made into this model's input: its card's transform; for a zip written before
     * cards, a stretch to {@link #defaultSize()} normalised by the scaling stored in the zip, else
     * Caffe's for colour images (the original Keras port's weights) and none for gray ones.
     */
    public ImageTransform transform() {
        return classifier().transform();
    }

    /**
     * The transform to use when a user asks for {@code size} ({height, width}: a stretch to it, as
     * models trained here are trained; null: the recorded transform's geometry) and normalisation
     * {@code option} ({@code caffe}, {@code torch}, {@code none}; null: the recorded one), with a
     * warning on {@code err} when the option overrides what the model records.
     */
    public ImageTransform transform(int[] size, String option, PrintWriter err) {
        ImageTransform recorded = transform();
        ImageTransform t = size == null ? recorded
                : ImageTransform.stretch(size[0], size[1], recorded.normalization());
        if (option == null) {
            return t;
        }
        Normalization asked = ImageNetPreprocessor.Mode.fromId(option).normalization();
        if (normalizer != null) {
            err.println("warning: " + zip + " stores the input scaling it was trained with; --preprocess "
                    + option + " is not used");
            return t;
        }
        if (card != null && !asked.equals(recorded.normalization())) {
            err.println("warning: " + zip + " records " + card.preprocessing() + " preprocessing for its weights; "
                    + "--preprocess " + option + " overrides it");
        }
        return t.withNormalization(asked);
    }

    /**
     * Image files as this model's input, [N, channels, height, width]: decoded, resized, cropped and
     * normalised by {@link #transform()}, the way its weights were trained and evaluated
     * ({@link ImageClassifier#preprocess(List)}).
     *
     * @throws IOException naming the file that is missing, unreadable or of the wrong kind
     */
    public INDArray preprocess(List<Path> files) throws IOException {
        return classifier().preprocess(files);
    }

    /**
     * Image files as this model's input through {@code transform}, e.g. the one
     * {@link #transform(int[], String, PrintWriter)} gives for a user's size and normalisation.
     */
    public INDArray preprocess(List<Path> files, ImageTransform transform) throws IOException {
        return classifier().preprocess(files, transform);
    }

    /**
     * {@code x} (decoded images, 0-255, RGB or gray, as {@link org.densenet4j.io.Images} gives them)
     * put in {@code transform}'s channel order and normalised: by the scaling stored in the zip when
     * the transform says so, else by its normalisation.
     */
    public INDArray normalise(INDArray x, ImageTransform transform) {
        return classifier().normalise(x, transform);
    }

    /**
     * The image normalisation to use: {@code option} when given (with a warning on {@code err}
     * when the model records another), else the one the model's transform records, else Caffe's (the
     * original Keras port's Caffe-converted weights, for model zips written before cards). For images loaded otherwise
     * than by
     * {@link #preprocess} (a training set's stretch); the card's whole transform is {@link #transform()}.
     */
    public ImageNetPreprocessor.Mode preprocessing(String option, PrintWriter err) {
        Normalization n = transform(null, option, err).normalization();
        // STORED: the zip's scaling applies in normalise whatever the mode
        return n.kind() == Normalization.Kind.STORED ? ImageNetPreprocessor.Mode.CAFFE
                : ImageNetPreprocessor.Mode.fromId(n.legacyId());
    }

    /** The class names for {@code classes} outputs: stored ones, else ImageNet's for 1000, else null. */
    public List<String> labels(long classes) {
        List<String> labels = classifier().labels(classes);
        return labels.isEmpty() ? null : labels;
    }

    /**
     * Channels the model takes: its card's, else its first convolution's (3 when the graph does not start with one).
     */
    public int channels() {
        return classifier().channels();
    }

    /**
     * What {@link #normalise} does to 0-255 pixels, for a runtime that has only this model's weights
     * (the metadata of an ONNX export): {@code preprocessing_channels} (the order the channels must
     * be in), {@code preprocessing_mean} and {@code preprocessing_std} (JSON arrays, one value per
     * channel: {@code (x - mean) / std}); {@code preprocessing_normalizer} naming a stored
     * normaliser that is not a plain scaling. Empty when the pixels are used as they are, or when
     * the model records no preprocessing.
     */
    public java.util.Map<String, String> preprocessingProperties() {
        java.util.Map<String, String> p = new java.util.LinkedHashMap<>();
        int c = channels();
        if (normalizer instanceof org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler s) {
            // x / maxPixel * (max - min) + min, i.e. (x - mean) / std
            double std = s.getMaxPixelVal() / (s.getMaxRange() - s.getMinRange());
            p.put("preprocessing_mean", perChannel(c, 0.0 - s.getMinRange() * std)); // never -0.0
            p.put("preprocessing_std", perChannel(c, std));
        } else if (normalizer != null) {
            p.put("preprocessing_normalizer", normalizer.getClass().getSimpleName());
        } else if (card != null && !card.preprocessing().equals(ModelCard.STORED) && c == 3) {
            ImageNetPreprocessor.Mode mode = ImageNetPreprocessor.Mode.fromId(card.preprocessing());
            if (mode != ImageNetPreprocessor.Mode.NONE) {
                p.put("preprocessing_channels", mode.channelOrder().name());
                p.put("preprocessing_mean", java.util.Arrays.toString(mode.mean()));
                p.put("preprocessing_std", java.util.Arrays.toString(mode.std()));
            }
        }
        return p;
    }

    private static String perChannel(int channels, double value) {
        double[] v = new double[channels];
        java.util.Arrays.fill(v, value);
        return java.util.Arrays.toString(v);
    }

    /** {@code x} (decoded images, 0-255) normalised: the stored normalisation, else {@code mode} for colour images. */
    public INDArray normalise(INDArray x, ImageNetPreprocessor.Mode mode) {
        if (normalizer != null) {
            normalizer.transform(x); // the scaling the model was trained with
            return x;
        }
        return x.size(1) == 3 ? new ImageNetPreprocessor(mode, ImageNetPreprocessor.ChannelOrder.RGB).apply(x) : x;
    }

    /** The layer whose activations are the pooled features: the input of fc6, or the output of a headless graph. */
    public String featureLayer() {
        return classifier().featureLayer();
    }

    /** Channels the graph's first convolution takes, or -1 when it does not start with one. */
    public static long inputChannels(ComputationGraph net) {
        return ImageClassifier.inputChannels(net);
    }
}
