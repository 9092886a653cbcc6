package org.densenet4j.preprocess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Images;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ImageTransform.Normalization;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model with what it needs to take photos and name what it sees: the graph, how images are made
 * into its input (the {@link ImageTransform} its card records), and its class names.
 *
 * <pre>{@code
 * ImageClassifier c = ImageClassifier.read(Path.of("densenet121.zip"));
 * INDArray p = c.predict(List.of(Path.of("cat.jpg")));        // resized, cropped, normalised as trained
 * for (ImageNetClasses.Prediction top : c.decode(p, 5).get(0)) {
 *     System.out.println(top.label() + " " + top.probability());
 * }
 * }</pre>
 *
 * @param net          the graph
 * @param transform    how images are made into its input
 * @param channels     the channels it takes (3 RGB, 1 gray)
 * @param storedLabels the class names stored with it, or null
 * @param normalizer   the input scaling stored with it (a model trained here), or null
 */
public record ImageClassifier(ComputationGraph net, ImageTransform transform, int channels, List<String> storedLabels,
                              DataNormalization normalizer) {

    /** A classifier; the transform must match the normaliser (a stored normalisation needs one). */
    public ImageClassifier {
        if (transform.normalization().kind() == Normalization.Kind.STORED && normalizer == null) {
            throw new IllegalArgumentException("the transform normalises with the stored input scaling, but there "
                    + "is none");
        }
        storedLabels = storedLabels == null ? null : List.copyOf(storedLabels);
    }

    /**
     * The pretrained model of {@code preset}: its default published ImageNet weights (downloaded,
     * checked against the publisher's hash and converted into DL4J's zoo cache on first use), or the
     * Fashion-MNIST model bundled in densenet-zoo, with the transform and labels its weights came with.
     *
     * @throws UnsupportedOperationException when no pretrained weights exist for {@code preset}
     * @throws IOException naming the URL or file when the download or the cached model fails
     */
    public static ImageClassifier pretrained(DenseNetPreset preset) throws IOException {
        return read(pretrainedZip(preset), true);
    }

    /**
     * Whether {@code spec}, as a user names a model, is a model file rather than a preset id: a path
     * (it holds a {@code /}), a {@code .zip}, or a file that exists.
     */
    public static boolean namesFile(String spec) {
        return spec.endsWith(".zip") || spec.contains("/") || Files.exists(Path.of(spec));
    }

    /**
     * The model zip of {@code preset}'s pretrained model in DL4J's zoo cache, installed there first
     * when absent (as {@link #pretrained} does): for a caller that ships the file rather than the
     * graph, such as Spark's driver broadcasting it to the executors.
     *
     * @throws UnsupportedOperationException when no pretrained weights exist for {@code preset}
     * @throws IOException naming the URL or file when the download or the conversion fails
     */
    public static Path pretrainedZip(DenseNetPreset preset) throws IOException {
        PretrainedType type = preset.pretrainedType().orElseThrow(() -> new UnsupportedOperationException(
                "no pretrained weights are published for " + preset.id()));
        Path zip = ModelFiles.cachedModel(preset.id(), type);
        if (!Files.exists(zip)) {
            DenseNetZooModel.of(preset).initPretrained(type); // installs it in the cache
        }
        return zip;
    }

    /**
     * The model in model zip {@code zip}, with its card's transform, labels and stored scaling.
     *
     * @throws IOException naming the file when it cannot be read
     */
    public static ImageClassifier read(Path zip) throws IOException {
        return read(zip, false);
    }

    private static ImageClassifier read(Path zip, boolean requireChecksum) throws IOException {
        ComputationGraph net = ModelFiles.read(zip, requireChecksum);
        ModelCard card = ModelCard.read(zip).orElse(null);
        List<String> labels = ModelFiles.readLabels(zip).orElse(null);
        DataNormalization normalizer = (DataNormalization) ModelFiles.readNormalizer(zip)
                .filter(n -> n instanceof DataNormalization).orElse(null);
        int[] size = card != null ? new int[] {card.inputHeight(), card.inputWidth()}
                : inputChannels(net) == 1 ? new int[] {28, 28} : new int[] {224, 224};
        return of(net, card, labels, normalizer, size);
    }

    /**
     * The classifier of {@code net} with what was stored beside it: its card's transform (a stretch
     * normalised by the stored scaling when the card says so and there is one, else none); for a zip
     * written before cards (null {@code card}), a stretch to {@code defaultSize} normalised by the
     * stored scaling, else Caffe's for colour images (the original Keras port's weights), none for gray ones.
     */
    public static ImageClassifier of(ComputationGraph net, ModelCard card, List<String> storedLabels,
                                     DataNormalization normalizer, int[] defaultSize) {
        long first = inputChannels(net);
        int channels = card != null && card.inputChannels() > 0 ? card.inputChannels() : first > 0 ? (int) first : 3;
        ImageTransform t;
        if (card != null) {
            t = card.transform();
            if (t.normalization().kind() == Normalization.Kind.STORED && normalizer == null) {
                t = t.withNormalization(Normalization.NONE);
            }
        } else {
            Normalization n = normalizer != null ? Normalization.STORED
                    : channels == 3 ? Normalization.CAFFE_DENSENET : Normalization.NONE;
            t = ImageTransform.stretch(defaultSize[0], defaultSize[1], n);
        }
        return new ImageClassifier(net, t, channels, storedLabels, normalizer);
    }

    /**
     * Image files as the model's input, [N, channels, height, width]: decoded, resized, cropped and
     * normalised by {@link #transform()}, the way its weights were trained and evaluated.
     *
     * @throws IOException naming the file that is missing, unreadable or of the wrong kind
     */
    public INDArray preprocess(List<Path> files) throws IOException {
        return preprocess(files, transform);
    }

    /** Image files as the model's input through {@code transform} instead of the recorded one. */
    public INDArray preprocess(List<Path> files, ImageTransform transform) throws IOException {
        return normalise(Images.load(files, transform, channels), transform);
    }

    /**
     * {@code x} (decoded images, 0-255, RGB or gray, as {@link Images} gives them) in
     * {@code transform}'s channel order and normalised: by the stored scaling when the transform
     * says so, else by its normalisation.
     */
    public INDArray normalise(INDArray x, ImageTransform transform) {
        if (transform.normalization().kind() == Normalization.Kind.STORED) {
            if (normalizer == null) {
                throw new IllegalStateException("the transform normalises with the stored input scaling, but there "
                        + "is none");
            }
            normalizer.transform(x); // the scaling the model was trained with
            return x;
        }
        long[] shape = x.shape();
        float[] v = x.castTo(DataType.FLOAT).dup('c').data().asFloat();
        transform.normalize(v, (int) shape[1], (int) (shape[2] * shape[3]));
        return Nd4j.create(v, shape, 'c');
    }

    /** The class probabilities of image files, [N, classes], run by the compiled engine where it can. */
    public INDArray predict(List<Path> files) throws IOException {
        return CompiledGraph.inference(net).apply(preprocess(files));
    }

    /** The number of classes: the outputs of the graph's last layer (0 when it ends in no such layer). */
    public int classes() {
        var conf = net.getConfiguration();
        for (String out : conf.getNetworkOutputs()) {
            if (conf.getVertices().get(out) instanceof LayerVertex lv
                    && lv.getLayerConf().getLayer() instanceof FeedForwardLayer ff) {
                return (int) ff.getNOut();
            }
        }
        return 0;
    }

    /** The class names: the stored ones when they name every class, else ImageNet's for 1000 classes, else none. */
    public List<String> labels() {
        return labels(classes());
    }

    /** The class names for {@code classes} outputs: stored ones, else ImageNet's for 1000, else an empty list. */
    public List<String> labels(long classes) {
        if (storedLabels != null && storedLabels.size() == classes) {
            return storedLabels;
        }
        return classes == 1000 ? ImageNetClasses.imageNet() : List.of();
    }

    /** The {@code k} most probable classes of each row of {@code probabilities}, named by {@link #labels()}. */
    public List<List<ImageNetClasses.Prediction>> decode(INDArray probabilities, int k) {
        return ImageNetClasses.topK(probabilities, k, labels(probabilities.size(1)));
    }

    /**
     * The layer whose activations are the pooled features: the input of the classifier
     * ({@link DenseNetBuilder#CLASSIFIER}), or the output of a headless graph.
     */
    public String featureLayer() {
        var inputs = net.getConfiguration().getVertexInputs().get(DenseNetBuilder.CLASSIFIER);
        return inputs != null ? inputs.get(0) : net.getConfiguration().getNetworkOutputs().get(0);
    }

    /** Channels the graph's first convolution takes, or -1 when it does not start with one. */
    public static long inputChannels(ComputationGraph net) {
        var conf = net.getConfiguration();
        String in = conf.getNetworkInputs().get(0);
        for (var e : conf.getVertexInputs().entrySet()) {
            if (e.getValue().contains(in) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv) {
                var layer = lv.getLayerConf().getLayer();
                if (layer instanceof FrozenLayer frozen) {
                    layer = frozen.getLayer(); // a fine-tuned model's frozen backbone
                }
                if (layer instanceof ConvolutionLayer conv) {
                    return conv.getNIn();
                }
            }
        }
        return -1;
    }
}
