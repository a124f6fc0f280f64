"""The API envelope: requests parsed from XML or JSON, responses rendered to either."""
