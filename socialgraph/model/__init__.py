"""Model: modality fusion, attention GNN, link / engagement / preference / reconstruction heads."""
