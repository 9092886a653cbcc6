package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.densenet4j.engine.CompiledGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Example: transfer learning by feature extraction, as DL4J's {@code TransferLearningHelper} does:
 * the frozen backbone's pooled features of every image computed once, with the compiled engine,
 * then a new softmax classifier trained on them (seconds, where fine-tuning through the backbone
 * takes it through every image every epoch).
 *
 * <pre>
 * ./densenet example TrainNewClassifier densenet121 flowers/     # a folder with one subfolder per class
 * </pre>
 */
public final class TrainNewClassifier {

    private TrainNewClassifier() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: TrainNewClassifier MODEL FOLDER   "
                    + "(MODEL: a preset id or model zip; FOLDER: class subfolders)");
            System.exit(2);
        }
        double accuracy = run(args[0], Path.of(args[1]), 50, 42);
        System.out.printf("held-out accuracy of the new classifier: %.4f%n", accuracy);
    }

    /** Trains a classifier of {@code folder}'s classes on {@code model}'s features; returns its held-out accuracy. */
    public static double run(String model, Path folder, int epochs, long seed) throws IOException {
        ImageModel backbone = ImageModel.load(model);
        ImageFolder images = ImageFolder.scan(folder);
        List<List<Integer>> split = images.split(0.25, seed);            // stratified: a quarter of each class held out
        UnaryOperator<INDArray> features = CompiledGraph.inference(backbone.net(), backbone.featureLayer());
        DataSet train = featurize(backbone, features, images, split.get(0));
        DataSet test = featurize(backbone, features, images, split.get(1));

        MultiLayerNetwork head = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(seed)
                .updater(new Adam(1e-3)).l2(1e-4).list()
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(train.getFeatures().size(1))
                        .nOut(images.classes().size()).activation(Activation.SOFTMAX).build())
                .build());
        head.init();
        for (int epoch = 0; epoch < epochs; epoch++) {
            head.fit(train);                                             // the whole (small) feature set per step
        }
        Evaluation eval = new Evaluation(images.classes().size());
        eval.eval(test.getLabels(), head.output(test.getFeatures()));
        return eval.accuracy();
    }

    /** The pooled features and one-hot labels of the images {@code indices}, a batch of 32 at a time. */
    private static DataSet featurize(ImageModel backbone, UnaryOperator<INDArray> features, ImageFolder images,
                                     List<Integer> indices) throws IOException {
        int[] size = backbone.defaultSize();
        List<DataSet> parts = new java.util.ArrayList<>();
        for (int from = 0; from < indices.size(); from += 32) {
            DataSet batch = images.load(indices.subList(from, Math.min(indices.size(), from + 32)), size[0], size[1],
                    backbone.channels());
            INDArray x = backbone.normalise(batch.getFeatures(), backbone.preprocessing(null, null));
            parts.add(new DataSet(features.apply(x), batch.getLabels()));
        }
        return DataSet.merge(parts);
    }
}
