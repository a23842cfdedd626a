"""`etl run`: the main job, its stages and its two engines.

    job.py         everything around the stages: checks, report, lock, Ray session, sink, :Run node, signals
    models.py      the run's models, loaded and traced once (through etl/models/registry.py)
    options.py     what a run takes from its settings
    stages.py      the model stages as functions that return their output and their counts
    driver.py      rows -> quarantine | ledger | batches; the counts into the report; gathered sink writes
    threads.py     the local engine: the stages on threads joined by bounded queues
    ray_engine.py  the Ray engine: Ray Data reads, the stages on model actors, the driver writes

The note rules the spans stage applies are etl/notes/; the models etl/models/; the stores etl/graph/.
"""
