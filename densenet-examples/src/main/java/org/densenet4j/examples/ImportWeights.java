package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Path;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightFileSummary;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;

/**
 * Example: import published DenseNet weights (a Keras .h5, Keras 1 / Caffe-converted or
 * keras.applications, or a torchvision/timm state_dict, .pth or .safetensors) into the matching
 * DL4J graph and save it as a model zip with its card (preprocessing, input size).
 *
 * <pre>
 * ./densenet example ImportWeights densenet121_weights_tf.h5 densenet121.zip
 * ./densenet example ImportWeights densenet121-a639ec97.pth densenet121.zip 224x224
 * </pre>
 */
public final class ImportWeights {

    private ImportWeights() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: ImportWeights WEIGHTS(.h5|.pth|.safetensors) OUT.zip [HxW]");
            System.exit(2);
        }
        int[] size = args.length > 2 ? parse(args[2]) : new int[] {224, 224};
        ComputationGraph net = importTo(Path.of(args[0]), Path.of(args[1]), size[0], size[1]);
        System.out.printf("%s: %,d parameters written to %s%n", args[0], net.numParams(), args[1]);
    }

    /**
     * Reads {@code weights}, builds the graph they fit at {@code height x width}, loads them and writes {@code zip}.
     */
    public static ComputationGraph importTo(Path weights, Path zip, int height, int width) throws IOException {
        WeightFileSummary summary = KerasDenseNetImporter.inspect(weights);      // architecture, format, layout
        DenseNetConfig config = summary.toConfig().inputShape(height, width, 3).build();
        ComputationGraph net = KerasDenseNetImporter.load(weights, config);     // every tensor checked and placed
        ModelCard card = KerasDenseNetImporter.card(weights, summary.layout(), config);
        ModelFiles.write(net, zip, true, null, java.util.Map.of(), false, card); // written whole, then renamed
        return net;
    }

    private static int[] parse(String hw) {
        String[] p = hw.toLowerCase(java.util.Locale.ROOT).split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }
}
