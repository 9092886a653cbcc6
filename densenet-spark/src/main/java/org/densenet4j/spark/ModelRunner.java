package org.densenet4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.UnaryOperator;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.preprocess.ImageClassifier;
import org.densenet4j.zoo.io.ImageTransform;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A model on an executor: read once per JVM from its broadcast bytes, and run by a pool of compiled
 * replicas, one per concurrent task ({@link #acquire}/{@link #release}), each on its task's cores
 * ({@link TaskCores}). A replica compiles the graph for the pooled features or for the class
 * probabilities when first asked for them.
 */
final class ModelRunner {

    private static final Map<String, ImageClassifier> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, Queue<ModelRunner>> IDLE = new ConcurrentHashMap<>();

    private final String sha256;
    private final String name;
    private final ImageClassifier model;
    private final ImageTransform transform;
    private UnaryOperator<INDArray> features;
    private UnaryOperator<INDArray> probabilities;

    private ModelRunner(ModelSource source, ImageClassifier model) {
        this.sha256 = source.sha256();
        this.name = source.name();
        this.model = model;
        this.transform = model.transform();
    }

    /** A replica of {@code source} for the calling task: an idle one, or a new one (the model read on first use). */
    static ModelRunner acquire(ModelSource source) {
        ModelRunner idle = IDLE.computeIfAbsent(source.sha256(), k -> new ConcurrentLinkedQueue<>()).poll();
        return idle != null ? idle : new ModelRunner(source, MODELS.computeIfAbsent(source.sha256(),
                k -> load(source)));
    }

    /** Gives this replica back for the next task. */
    void release() {
        IDLE.get(sha256).add(this);
    }

    private static ImageClassifier load(ModelSource source) {
        try {
            Path tmp = Files.createTempFile("densenet4j-model-", ".zip");
            try {
                Files.write(tmp, source.zip());
                return ImageClassifier.read(tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source.name() + ": cannot load the model on this executor", e);
        } catch (IllegalArgumentException | IllegalStateException e) { // named by the temporary copy: rename
            throw new IllegalArgumentException(source.name() + ": not a model this executor can run: "
                    + e.getMessage(), e);
        }
    }

    /** How the model's images are made into its input: its card's transform. */
    ImageTransform transform() {
        return transform;
    }

    int height() {
        return transform.outputSize()[0];
    }

    int width() {
        return transform.outputSize()[1];
    }

    int channels() {
        return model.channels();
    }

    /** The class names of the model's outputs, or null when it stores none. */
    List<String> labels() {
        List<String> labels = model.labels();
        return labels.isEmpty() ? null : labels;
    }

    /** Pooled features of the images ({@code [channels * height * width]} 0-255 values each), one row each. */
    float[][] features(List<float[]> images) {
        if (features == null) {
            features = CompiledGraph.inference(model.net(), model.featureLayer());
        }
        return run(features, images);
    }

    /** Class probabilities of the images, one row each. */
    float[][] probabilities(List<float[]> images) {
        if (probabilities == null) {
            probabilities = CompiledGraph.inference(model.net());
        }
        return run(probabilities, images);
    }

    private float[][] run(UnaryOperator<INDArray> graph, List<float[]> images) {
        TaskCores.use();
        int c = channels();
        int h = height();
        int w = width();
        float[] all = new float[images.size() * c * h * w];
        for (int i = 0; i < images.size(); i++) {
            System.arraycopy(images.get(i), 0, all, i * c * h * w, c * h * w);
        }
        INDArray x = model.normalise(Nd4j.create(all, new long[] {images.size(), c, h, w}, 'c'), transform);
        INDArray out;
        if (CompiledGraph.available()) {
            out = graph.apply(x);
        } else {
            synchronized (model) { // DL4J's own output(), on the one graph every replica shares
                out = graph.apply(x);
            }
        }
        if (out.rank() != 2) {
            throw new IllegalStateException(name + ": its layer '" + model.featureLayer() + "' gives "
                    + java.util.Arrays.toString(out.shape())
                    + ", not a vector per image (a headless model without pooling?)");
        }
        return out.toFloatMatrix();
    }
}
