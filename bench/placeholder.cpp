namespace tconv {}
