package org.densenet4j.spark;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model loaded on an executor: its compiled graphs for the pooled features and for the class
 * probabilities, and its own input size and preprocessing. One per model per JVM, made on first
 * use; batches from concurrent tasks run one at a time (each already uses the executor's cores),
 * while the other tasks decode their next images.
 */
final class ModelRunner {

    private static final Map<String, ModelRunner> LOADED = new ConcurrentHashMap<>();

    private final ImageModel model;
    private final ImageNetPreprocessor.Mode mode;
    private final UnaryOperator<INDArray> features;
    private final UnaryOperator<INDArray> probabilities;

    private ModelRunner(ImageModel model) {
        this.model = model;
        this.mode = model.preprocessing(null, new PrintWriter(new StringWriter()));
        this.features = CompiledGraph.inference(model.net(), model.featureLayer());
        this.probabilities = CompiledGraph.inference(model.net());
    }

    /** The runner of {@code source} in this JVM, loaded from its bytes the first time. */
    static ModelRunner of(ModelSource source) {
        return LOADED.computeIfAbsent(source.sha256(), k -> load(source));
    }

    private static ModelRunner load(ModelSource source) {
        try {
            Path tmp = Files.createTempFile("densenet4j-model-", ".zip");
            try {
                Files.write(tmp, source.zip());
                return new ModelRunner(ImageModel.read(tmp, source.name()));
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source.name() + ": cannot load the model on this executor", e);
        }
    }

    int height() {
        return model.defaultSize()[0];
    }

    int width() {
        return model.defaultSize()[1];
    }

    int channels() {
        return model.channels();
    }

    /** The class names of the model's outputs, or null when it stores none. */
    List<String> labels() {
        return model.labels(model.net().getOutputLayer(0).getParam("b").length());
    }

    /** Pooled features of the images ({@code [channels * height * width]} 0-255 values each), one row each. */
    synchronized float[][] features(List<float[]> images) {
        return run(features, images);
    }

    /** Class probabilities of the images, one row each. */
    synchronized float[][] probabilities(List<float[]> images) {
        return run(probabilities, images);
    }

    private float[][] run(UnaryOperator<INDArray> graph, List<float[]> images) {
        int c = channels();
        int h = height();
        int w = width();
        float[] all = new float[images.size() * c * h * w];
        for (int i = 0; i < images.size(); i++) {
            System.arraycopy(images.get(i), 0, all, i * c * h * w, c * h * w);
        }
        INDArray x = model.normalise(Nd4j.create(all, new long[] {images.size(), c, h, w}, 'c'), mode);
        INDArray out = graph.apply(x);
        if (out.rank() != 2) {
            throw new IllegalStateException(model.zip() + ": its layer '" + model.featureLayer() + "' gives "
                    + java.util.Arrays.toString(out.shape()) + ", not a vector per image (a headless model without pooling?)");
        }
        return out.toFloatMatrix();
    }
}
