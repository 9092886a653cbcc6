package org.densenet4j.examples.segmentation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Images;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A trained segmentation model (an FC-DenseNet as {@link SegmentationTraining} trains it) read
 * from its model zip: the graph, whose output is a class score per pixel, the class names and the
 * input size its card records, and the input scaling stored beside it.
 *
 * @param net        the graph
 * @param labels     the class names, in output order
 * @param height     the input height the graph was built for
 * @param width      the input width
 * @param channels   the input channels
 * @param normalizer the input scaling stored with the model, or null for none
 */
public record SegmentationModel(ComputationGraph net, List<String> labels, int height, int width, int channels,
                                DataNormalization normalizer) {

    private static final int BATCH = 8;

    /**
     * The segmentation model in {@code zip}.
     *
     * @throws IllegalArgumentException when the zip holds a model that does not segment (a
     *         classifier) or has no model card
     * @throws IOException              when the zip cannot be read
     */
    public static SegmentationModel read(Path zip) throws IOException {
        ComputationGraph net = ModelFiles.read(zip, false);
        String output = net.getConfiguration().getNetworkOutputs().get(0);
        if (!(net.getLayer(output).conf().getLayer() instanceof CnnLossLayer)) {
            throw new IllegalArgumentException(zip + ": a model whose output '" + output
                    + "' scores whole images, not pixels (a classifier); a segmentation model is needed");
        }
        ModelCard card = ModelCard.read(zip).orElseThrow(() -> new IllegalArgumentException(zip
                + ": a segmentation graph without a model card (its input size and class names are unknown)"));
        DataNormalization normalizer = (DataNormalization) ModelFiles.readNormalizer(zip)
                .filter(n -> n instanceof DataNormalization).orElse(null);
        return new SegmentationModel(net, card.labels(), card.inputHeight(), card.inputWidth(), card.inputChannels(),
                normalizer);
    }

    /** The number of classes the model tells apart: the outputs of the layer its loss layer scores. */
    public int classes() {
        var conf = net.getConfiguration();
        String scores = conf.getVertexInputs().get(conf.getNetworkOutputs().get(0)).get(0);
        return (int) ((FeedForwardLayer) net.getLayer(scores).conf().getLayer()).getNOut();
    }

    /**
     * The predicted class of each pixel of each image, the images stretched (bilinear) to the
     * model's input size: per image {@code height * width} classes, row-major.
     *
     * @throws IOException naming a file that is missing or not an image
     */
    public int[][] predict(List<Path> files) throws IOException {
        INDArray x = Images.load(files, height, width, channels);
        if (normalizer != null) {
            normalizer.transform(x);
        }
        UnaryOperator<INDArray> infer = CompiledGraph.inference(net);
        int n = files.size();
        int[][] out = new int[n][];
        for (int from = 0; from < n; from += BATCH) {
            int to = Math.min(n, from + BATCH);
            INDArray scores = infer.apply(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all()));
            int[] classes = scores.argMax(1).dup('c').data().asInt();
            int area = height * width;
            for (int i = from; i < to; i++) {
                out[i] = java.util.Arrays.copyOfRange(classes, (i - from) * area, (i - from + 1) * area);
            }
        }
        return out;
    }
}
