package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.densenet4j.engine.CompiledGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Example: classify images with a pretrained DenseNet. The model is a preset id (its pretrained
 * weights from the zoo cache) or a model zip; its card says how images are made into its input
 * (resize, crop, normalisation).
 *
 * <pre>
 * ./densenet example ClassifyImages                              # the bundled Fashion-MNIST samples
 * ./densenet example ClassifyImages densenet121 cat.jpg dog.png  # ImageNet weights, once fetched
 * </pre>
 */
public final class ClassifyImages {

    /** One image's best class. */
    public record Prediction(Path file, String label, int index, double probability) {
    }

    private ClassifyImages() {
    }

    public static void main(String[] args) throws IOException {
        String model = args.length > 0 ? args[0] : "densenet-fmnist";
        List<Path> files = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            files.add(Path.of(args[i]));
        }
        if (files.isEmpty()) {
            files = FashionMnist.sampleFiles(Files.createTempDirectory("fashion-samples"));
        }
        for (Prediction p : classify(model, files)) {
            System.out.printf("%-40s %-20s %.3f%n", p.file().getFileName(), p.label(), p.probability());
        }
    }

    /** The best class of each image, by the model {@code model} (a preset id or a model zip). */
    public static List<Prediction> classify(String model, List<Path> files) throws IOException {
        ImageModel m = ImageModel.load(model);
        INDArray x = m.preprocess(files);  // resized, cropped, normalised as the model's card records
        INDArray p = CompiledGraph.inference(m.net()).apply(x);                         // softmax, [N, classes]
        List<String> labels = m.labels(p.size(1));
        List<Prediction> out = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            int best = p.getRow(i).argMax().getInt(0);
            out.add(new Prediction(files.get(i), labels != null ? labels.get(best) : "class " + best, best,
                    p.getDouble(i, best)));
        }
        return out;
    }
}
