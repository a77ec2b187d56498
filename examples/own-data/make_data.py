#!/usr/bin/env python3
"""Writes notes.jsonl: a small made-up dataset in the shape of a user's own data (one JSON object
per line with `text` and `title` fields), generated from a seed so it is the same every time.

Each record describes a fictional weather station day; its title is a one-line summary.

    python3 examples/own-data/make_data.py    # then: clp-flow run examples/own-data/workflow.yaml
"""
import json
import os
import random

rng = random.Random(7)
places = ["Harbor Point", "North Ridge", "Millbrook", "Stone Valley", "Cedar Lake", "Windmere", "Oak Hollow", "Red Cliff"]
skies = ["clear", "overcast", "partly cloudy", "foggy", "stormy", "hazy"]
winds = ["calm", "a light breeze", "gusty winds", "strong westerly winds", "a steady northerly wind"]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.jsonl")
with open(out, "w") as f:
    for i in range(1000):
        place, sky, wind = rng.choice(places), rng.choice(skies), rng.choice(winds)
        hi = rng.randint(-5, 35); lo = hi - rng.randint(3, 15); rain = rng.choice([0, 0, 0, 1, 2, 5, 12, 30])
        text = (f"The station at {place} reported a {sky} day with {wind}. The temperature peaked at {hi} degrees "
                f"and fell to {lo} degrees overnight. " + (f"Rainfall totalled {rain} millimetres. " if rain else "No rain was recorded. ")
                + rng.choice(["Visibility stayed good all day.", "Visibility dropped in the afternoon.", "Humidity was high.", "The air was dry."]))
        title = f"{sky.capitalize()} and {'wet' if rain else 'dry'} at {place}, high of {hi}"
        f.write(json.dumps({"id": f"day-{i}", "text": text, "title": title}) + "\n")
print(f"wrote {out}")
