import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;

/**
 * Times ModelFiles.write of a preset's model as the CLI writes a trained one (a normaliser, labels,
 * a name and a card), ROUNDS times, then ModelFiles.read of the result.
 * Usage: java -cp CLASSPATH tools/bench/WriteModel.java densenet121 /tmp/out.zip [ROUNDS=3]
 */
public class WriteModel {
    public static void main(String[] args) throws Exception {
        DenseNetPreset preset = DenseNetPreset.fromId(args[0]);
        Path out = Path.of(args[1]);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        ComputationGraph net = new DenseNetZooModel(preset.id(), preset.config()).init();
        List<String> labels = List.of("a", "b", "c", "d");
        ModelCard card = new ModelCard(ModelCard.STORED, 224, 224, 3, labels, Map.of("weights", "random (benchmark)"));
        for (int i = 0; i < rounds; i++) {
            long t = System.nanoTime();
            ModelFiles.write(net, out, true, new ImagePreProcessingScaler(), Map.of("labels", labels, "model", "bench"),
                    false, card);
            System.out.printf("write %d: %.0f ms, %.1f MB%n", i + 1, (System.nanoTime() - t) / 1e6, Files.size(out) / 1e6);
        }
        long t = System.nanoTime();
        ModelFiles.read(out, true).close();
        System.out.printf("read: %.0f ms%n", (System.nanoTime() - t) / 1e6);
    }
}
