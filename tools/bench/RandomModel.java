import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;

/**
 * Writes a preset's DenseNet with random weights as a model zip (torchvision preprocessing on its
 * card), for benchmarks that need a model file but not its accuracy.
 * Usage: java -cp CLASSPATH tools/bench/RandomModel.java densenet121 /tmp/densenet121-random.zip
 */
public class RandomModel {
    public static void main(String[] args) throws Exception {
        DenseNetPreset preset = DenseNetPreset.fromId(args[0]);
        ComputationGraph net = new DenseNetZooModel(preset.id(), preset.config()).init();
        var c = preset.config();
        ModelFiles.write(net, Path.of(args[1]), true, null, Map.of(), false, new ModelCard("torch", c.inputHeight(),
                c.inputWidth(), c.inputChannels(), List.of(), Map.of("weights", "random (benchmark)")));
    }
}
